"""The statuses an order passes through and the moves allowed between them."""

from __future__ import annotations

from enum import StrEnum

from chalicelib.domain.errors import IllegalTransition


class OrderStatus(StrEnum):
    RECEIVED = "received"
    READY = "ready"
    NEEDS_ATTENTION = "needs_attention"
    PLANNED = "planned"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    FAILED_ATTEMPT = "failed_attempt"
    IN_LOCKER = "in_locker"
    COLLECTED = "collected"
    RETURNED = "returned"
    CANCELLED = "cancelled"


S = OrderStatus

ALLOWED: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.RECEIVED: frozenset({S.READY, S.NEEDS_ATTENTION, S.CANCELLED}),
    S.NEEDS_ATTENTION: frozenset({S.READY, S.CANCELLED}),
    S.READY: frozenset({S.PLANNED, S.NEEDS_ATTENTION, S.CANCELLED}),
    # A planned order can be released back to ready (run failed, unassigned, re-plan).
    S.PLANNED: frozenset({S.OUT_FOR_DELIVERY, S.READY, S.NEEDS_ATTENTION, S.CANCELLED}),
    S.OUT_FOR_DELIVERY: frozenset(
        {S.DELIVERED, S.FAILED_ATTEMPT, S.IN_LOCKER, S.RETURNED, S.NEEDS_ATTENTION}
    ),
    S.FAILED_ATTEMPT: frozenset({S.READY, S.PLANNED, S.RETURNED, S.NEEDS_ATTENTION, S.CANCELLED}),
    S.IN_LOCKER: frozenset({S.COLLECTED, S.RETURNED}),
    S.DELIVERED: frozenset(),
    S.COLLECTED: frozenset(),
    S.RETURNED: frozenset(),
    S.CANCELLED: frozenset(),
}

TERMINAL = frozenset(status for status, nxt in ALLOWED.items() if not nxt)

# Statuses in which the merchant's storefront may still change what is to be delivered.
EDITABLE = frozenset({S.RECEIVED, S.READY, S.NEEDS_ATTENTION})

# Why a delivery attempt failed, as the driver says (a `failed` event's reason), and as the
# metrics count failed attempts.
FAILURE_REASONS = (
    "not_home",
    "no_access",
    "refused",
    "damaged",
    "address_wrong",
    "unsafe_to_leave",
    "business_closed",
    "other",
)


def can_move(current: OrderStatus, target: OrderStatus) -> bool:
    return target in ALLOWED[current]


def check_move(current: OrderStatus, target: OrderStatus) -> None:
    """Raise IllegalTransition unless `current -> target` is an allowed move."""
    if not can_move(current, target):
        raise IllegalTransition(f"an order cannot go from {current} to {target}")


def sources_of(target: OrderStatus) -> frozenset[OrderStatus]:
    """Every status from which `target` can be reached (for conditional writes)."""
    return frozenset(status for status, nxt in ALLOWED.items() if target in nxt)
