"""What catch-up needs from the world: a platform's changed orders, the merchants and their
connections, the one intake path, and a cursor store. Adapters implement these; tests fake them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, Protocol

from chalicelib.domain.errors import DomainError
from chalicelib.domain.tenancy import Merchant
from chalicelib.orders.service import Inbound, IntakeResult

Page = list[dict[str, Any]]


class PlatformOrders(Protocol):
    def changed_since(self, since: datetime) -> Iterator[Page]:
        """Pages of the platform's own order JSON changed at or after `since`, oldest change
        first, so that every order changed before a page's newest one is in it or before it."""
        ...


class PlatformError(DomainError):
    """A storefront platform did not give us the orders (the run goes on to other merchants)."""

    code = "platform_error"


class PlatformUnavailable(PlatformError):
    """5xx, throttling, timeout or no connection: worth trying again on the next run."""

    code = "platform_unavailable"


class PlatformCredentialsRejected(PlatformError):
    """401/403, or stored credentials that are incomplete: a person has to fix the connection."""

    code = "platform_credentials_rejected"


class PlatformRequestRejected(PlatformError):
    """Any other 4xx or an answer that is not a list of orders (old plugin, WAF page)."""

    code = "platform_request_rejected"


# (platform, credentials as stored by AccountService.connect) -> a client for that store.
ClientsFactory = Callable[[str, dict[str, Any]], PlatformOrders]


class Accounts(Protocol):
    def merchants(self) -> list[Merchant]: ...

    def connection(self, merchant_id: str, platform: str) -> dict[str, Any] | None: ...


class Intake(Protocol):
    def ingest(self, merchant: Merchant, inbound: Inbound) -> IntakeResult: ...


class Cursors(Protocol):
    def get(self, merchant_id: str, platform: str) -> datetime | None: ...

    def advance(self, merchant_id: str, platform: str, to: datetime) -> bool:
        """Move the cursor forward to `to`; False (and nothing written) if it is already there
        or beyond."""
        ...


class Rotation(Protocol):
    """Where the merchants' rotation stands between runs: the last merchant id visited."""

    def after(self) -> str | None: ...

    def moved_to(self, merchant_id: str) -> None: ...
