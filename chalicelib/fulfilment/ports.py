"""What fulfilment reporting needs from the world: a platform that takes a fulfilment, the
orders, the merchants' connections and a claim store. Adapters implement these; tests fake them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from chalicelib.domain.order import Order

COMPANY = "lastmile"


@dataclass(frozen=True)
class TrackingInfo:
    number: str
    url: str
    company: str = COMPANY


class FulfilmentReporter(Protocol):
    def report(self, external_order_id: str, tracking: TrackingInfo) -> str:
        """Mark the platform's order fulfilled with `tracking`; the platform's fulfilment id.

        Raises ReportUnavailable (worth retrying) or ReportRejected (it will not work again)."""
        ...


# Builds a reporter from a merchant's stored connection (credentials).
ReporterFactory = Callable[[dict[str, Any]], FulfilmentReporter]


class ReportUnavailable(Exception):
    """5xx, throttling (429), timeout or no connection: the stream delivers the message again."""


class ReportRejected(Exception):
    """A 4xx answer or nothing to fulfil: recorded as failed and not tried again."""

    def __init__(self, message: str, *, status: int | None = None, answer: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.answer = answer


class OrderLookup(Protocol):
    def get(self, order_id: str) -> Order | None: ...


class Connections(Protocol):
    def connection(self, merchant_id: str, platform: str) -> dict[str, Any] | None: ...
