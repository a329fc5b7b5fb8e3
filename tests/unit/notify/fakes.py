"""Stateful fakes of the notification service's ports: they keep and record, like the real."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.errors import DepotNotFound, MerchantNotFound
from chalicelib.domain.order import Order
from chalicelib.domain.tenancy import Depot, Merchant
from chalicelib.notify.messages import (
    Channel,
    Email,
    NotificationRecord,
    Sms,
    State,
    VendorRejected,
    VendorUnavailable,
)

_OUTCOME = ("to", "message_id", "reason", "vendor_status", "vendor_answer")


@dataclass
class Orders:
    orders: dict[str, Order] = field(default_factory=dict)

    def get(self, order_id: str) -> Order | None:
        return self.orders.get(order_id)


@dataclass
class Accounts:
    merchants: dict[str, Merchant] = field(default_factory=dict)
    depots: dict[str, Depot] = field(default_factory=dict)

    def merchant(self, merchant_id: str) -> Merchant:
        if merchant_id not in self.merchants:
            raise MerchantNotFound(merchant_id)
        return self.merchants[merchant_id]

    def depot(self, depot_id: str) -> Depot:
        if depot_id not in self.depots:
            raise DepotNotFound(depot_id)
        return self.depots[depot_id]


@dataclass
class Deliveries:
    """The DynamoDB claim log's rules, in a dict."""

    items: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def claim(
        self,
        key: dict[str, str],
        *,
        order_id: str,
        message_type: str,
        channel: Channel,
        now: datetime,
        lease: timedelta,
    ) -> bool:
        k = (key["pk"], key["sk"])
        item = self.items.get(k)
        free = (
            item is None
            or item["state"] == State.RETRY
            or (item["state"] == State.SENDING and item["lease_until"] < now)
        )
        if not free:
            return False
        item = self.items.setdefault(k, {"attempts": 0, "sk": key["sk"]})
        item.update(
            state=State.SENDING,
            order_id=order_id,
            message_type=message_type,
            channel=str(channel),
            lease_until=now + lease,
        )
        return True

    def state(self, key: dict[str, str]) -> State | None:
        item = self.items.get((key["pk"], key["sk"]))
        return State(item["state"]) if item else None

    def finish(
        self, key: dict[str, str], state: State, *, now: datetime, attempts: int, **fields: Any
    ) -> None:
        item = self.items[(key["pk"], key["sk"])]
        assert item["state"] == State.SENDING
        item.update({k: v for k, v in fields.items() if v is not None})
        item["state"] = state
        item["attempts"] += attempts

    def for_order(self, order_id: str) -> list[NotificationRecord]:
        return [
            NotificationRecord(
                message_type=i["message_type"],
                channel=i["channel"],
                state=State(i["state"]),
                attempts=i["attempts"],
                **{name: i.get(name) for name in _OUTCOME},
            )
            for (pk, _), i in sorted(self.items.items())
            if pk == f"ORDER#{order_id}"
        ]

    def states(self) -> dict[str, str]:
        """channel -> state of every record (one message at a time in these tests)."""
        return {i["channel"]: str(i["state"]) for i in self.items.values()}


class _Scripted:
    """Answers each call with the next scripted error (a status), then succeeds."""

    def __init__(self) -> None:
        self.script: list[int] = []
        self.calls = 0

    def fail_with(self, statuses: Iterable[int]) -> None:
        self.script.extend(statuses)

    def _next(self, vendor: str) -> None:
        self.calls += 1
        if self.script:
            status = self.script.pop(0)
            error = VendorUnavailable if status == 429 or status >= 500 else VendorRejected
            raise error(f"{vendor} {status}", status=status, answer=f"answer {status}")


class RecordingEmail(_Scripted):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[Email] = []

    def send(self, email: Email) -> str:
        self._next("email")
        self.sent.append(email)
        return f"em-{len(self.sent)}"


class RecordingSms(_Scripted):
    def __init__(self, opted_out: Iterable[str] = ()) -> None:
        super().__init__()
        self.sent: list[Sms] = []
        self.opted_out_numbers = set(opted_out)

    def opted_out(self, phone: str) -> bool:
        return phone in self.opted_out_numbers

    def send(self, sms: Sms) -> str:
        self._next("sms")
        self.sent.append(sms)
        return f"sms-{len(self.sent)}"
