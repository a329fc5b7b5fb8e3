"""A webhook delivery: one outbox message given to one endpoint, pending until delivered or
abandoned, with the record of its attempts that the merchant sees."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class DeliveryState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    ABANDONED = "abandoned"


@dataclass(frozen=True)
class Delivery:
    endpoint_id: str
    merchant_id: str
    order_id: str
    message_sk: str
    message_type: str
    msg_id: str
    body: str
    state: DeliveryState = DeliveryState.PENDING
    attempts: int = 0
    first_attempt_at: str | None = None
    last_attempt_at: str | None = None
    last_status: int | None = None
    last_answer: str | None = None
    next_attempt_at: str | None = None
    reason: str | None = None
    due: str | None = None  # while pending, the lease token of whoever holds it

    def view(self) -> dict[str, Any]:
        """How the merchant sees it (the body is theirs to see)."""
        shown = {
            "msg_id": self.msg_id,
            "order_id": self.order_id,
            "type": self.message_type,
            "state": str(self.state),
            "attempts": self.attempts,
            "first_attempt_at": self.first_attempt_at,
            "last_attempt_at": self.last_attempt_at,
            "last_status": self.last_status,
            "last_answer": self.last_answer,
            "next_attempt_at": self.next_attempt_at,
            "reason": self.reason,
        }
        return {k: v for k, v in shown.items() if v is not None}


@dataclass(frozen=True)
class QueuedEndpoint:
    """An endpoint with deliveries pending, as the retry job finds it."""

    merchant_id: str
    endpoint_id: str
    touched_at: str  # when a write last left one of its deliveries pending
