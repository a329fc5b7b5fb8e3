"""What the notification service needs from the rest of the system and from vendors."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from chalicelib.domain.order import Order
from chalicelib.domain.tenancy import Depot, Merchant
from chalicelib.notify.messages import Channel, Email, NotificationRecord, Sms, State


class OrderSource(Protocol):
    def get(self, order_id: str) -> Order | None: ...


class Accounts(Protocol):
    def merchant(self, merchant_id: str) -> Merchant: ...

    def depot(self, depot_id: str) -> Depot: ...


class EmailChannel(Protocol):
    def send(self, email: Email) -> str:
        """The vendor's message id; raises VendorRejected or VendorUnavailable."""
        ...


class SmsChannel(Protocol):
    def opted_out(self, phone: str) -> bool: ...

    def send(self, sms: Sms) -> str:
        """The vendor's message id; raises VendorRejected or VendorUnavailable."""
        ...


class Deliveries(Protocol):
    def claim(
        self,
        key: dict[str, str],
        *,
        order_id: str,
        message_type: str,
        channel: Channel,
        now: datetime,
        lease: timedelta,
    ) -> bool: ...

    def state(self, key: dict[str, str]) -> State | None: ...

    def finish(
        self, key: dict[str, str], state: State, *, now: datetime, attempts: int, **fields: Any
    ) -> None: ...

    def for_order(self, order_id: str) -> list[NotificationRecord]: ...


class PickupCodes(Protocol):
    def open(self, sealed: str, order_id: str) -> str:
        """The pickup code sealed to this order; raises ValueError (lockers.codes.SealBroken)
        when it does not open: tampered, another order's, or another stage's key."""
        ...
