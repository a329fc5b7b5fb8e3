"""How a carrier's statuses move our order. Carriers do not order their webhooks (DoorDash sends
each up to three times, in any order), so a status counts only when it is further along than
the one already applied; a skipped step is passed through, so our lifecycle stays legal."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.lifecycle import OrderStatus

# The carrier statuses in Uber Direct's words (DoorDash's are translated into them), by how far
# along a delivery is. The three endings share the last rank: the first to arrive stands.
RANKS = {
    "pending": 0,
    "pickup": 1,
    "pickup_complete": 2,
    "dropoff": 3,
    "delivered": 4,
    "canceled": 4,
    "returned": 4,
}
STATUSES = tuple(RANKS)
PICKED_UP = RANKS["pickup_complete"]
ENDED = frozenset({"delivered", "canceled", "returned"})

CARRIER_DECLINED = "carrier_declined"  # no carrier quoted inside the window and the price
CARRIER_CANCELLED = "carrier_cancelled"  # the carrier called it off before collecting it


@dataclass(frozen=True)
class Move:
    """One step of our lifecycle a carrier status makes, and the message our customer hears."""

    status: OrderStatus
    message: str


@dataclass(frozen=True)
class Applied:
    """What one carrier status does: the carrier status the order records now, our moves in
    order, and whether the order goes back to our own next run (and why)."""

    carrier_status: str
    moves: tuple[Move, ...]
    back_to_pool: str | None = None


OUT = Move(OrderStatus.OUT_FOR_DELIVERY, "order.out_for_delivery")
DELIVERED = Move(OrderStatus.DELIVERED, "order.delivered")
FAILED = Move(OrderStatus.FAILED_ATTEMPT, "order.failed")


def applies(current: str | None, new: str) -> bool:
    """Whether `new` takes a delivery further than `current` (None: nothing applied yet). An
    older or equal status, a duplicate or anything after an ending changes nothing."""
    if new not in RANKS:
        return False
    if current is None:
        return True
    if current in ENDED:
        return False
    return RANKS[new] > RANKS[current]


def apply(current: str | None, new: str) -> Applied | None:
    """The effect of carrier status `new` on an order whose carrier status is `current`; None
    when it changes nothing. Collected parcels go out for delivery; a delivery called off before
    collection goes back to our next run as `carrier_cancelled`, and so does one that ends after
    collection without arriving, as a failed attempt first (the courier returns the parcel)."""
    if not applies(current, new):
        return None
    collected_before = current is not None and RANKS[current] >= PICKED_UP
    moves: list[Move] = []
    if new == "canceled" and not collected_before:
        return Applied(new, (), back_to_pool=CARRIER_CANCELLED)
    if RANKS[new] >= PICKED_UP and not collected_before:
        moves.append(OUT)
    if new == "delivered":
        moves.append(DELIVERED)
    elif new in ENDED:
        moves.append(FAILED)
        return Applied(new, tuple(moves), back_to_pool=CARRIER_CANCELLED)
    return Applied(new, tuple(moves))
