"""What the tracking page and its JSON twin say happened, in a customer's words: the headline
(a failed attempt said as such until the parcel is planned again), where it goes (the locker by
name for a locker order), and the timeline with no status told twice in a row."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.order import DeliveryType, Order, TimelineEvent

S = OrderStatus

# What a customer reads for each status (never the internal reason behind it).
STATUS_WORDS: dict[OrderStatus, str] = {
    S.RECEIVED: "Order received",
    S.READY: "Waiting to be scheduled",
    S.NEEDS_ATTENTION: "We are checking the delivery details",
    S.PLANNED: "Scheduled for delivery",
    S.OUT_FOR_DELIVERY: "Out for delivery",
    S.DELIVERED: "Delivered",
    S.FAILED_ATTEMPT: "Delivery attempt failed",
    S.IN_LOCKER: "Ready to collect from the locker",
    S.COLLECTED: "Collected from the locker",
    S.RETURNED: "Returned to the sender",
    S.CANCELLED: "Cancelled",
}

# A timeline entry whose words say more than its status (the order back to ready after a
# failed attempt is not "waiting to be scheduled" for the first time).
TYPE_WORDS: dict[str, str] = {
    "order.rescheduled": "We will try again",
    "order.returning": "Returning to the sender",
}

# The driver's reason for a failed attempt, as the customer reads it (route_events'
# FAILURE_REASONS); "other" says nothing more than the failure itself.
FAILURE_WORDS: dict[str, str] = {
    "not_home": "nobody was in",
    "no_access": "we could not get to the door",
    "refused": "the parcel was refused",
    "damaged": "the parcel was damaged",
    "address_wrong": "we could not find the address",
    "unsafe_to_leave": "it was not safe to leave the parcel",
    "business_closed": "the business was closed",
}

# Where a failed attempt stops being the news: the order is planned (or further) again.
_MOVED_ON = frozenset({S.PLANNED, S.OUT_FOR_DELIVERY, S.DELIVERED, S.IN_LOCKER, S.COLLECTED})


@dataclass(frozen=True)
class Entry:
    """One line of the timeline as shown: its status, its words and when it first happened."""

    status: OrderStatus
    words: str
    at: str


def failure_reason(event: TimelineEvent) -> str | None:
    """The driver's reason on a failed-attempt entry (its note reads `...; reason: x; ...`)."""
    for part in (event.note or "").split("; "):
        name, _, value = part.partition(": ")
        if name == "reason" and value:
            return value
    return None


def failure_words(reason: str | None) -> str:
    """ "Delivery attempt failed", with the reason in words when there is one to say."""
    said = FAILURE_WORDS.get(reason or "")
    return f"{STATUS_WORDS[S.FAILED_ATTEMPT]}: {said}" if said else STATUS_WORDS[S.FAILED_ATTEMPT]


def last_failure(timeline: Sequence[TimelineEvent]) -> TimelineEvent | None:
    """The failed attempt that is still the latest news: none planned or served since."""
    for event in reversed(timeline):
        if event.status is S.FAILED_ATTEMPT:
            return event
        if event.status in _MOVED_ON:
            return None
    return None


def headline(order: Order, timeline: Sequence[TimelineEvent]) -> str:
    """The page's one line: the status in words, or the failed attempt while it is the news
    (the order waits for a run again, which is not "waiting to be scheduled")."""
    if order.status is S.READY:
        failed = last_failure(timeline)
        if failed is not None:
            return failure_words(failure_reason(failed))
    return STATUS_WORDS.get(order.status, str(order.status))


def destination(order: Order, locker: Mapping[str, Any] | None) -> str:
    """Where the parcel goes, said publicly: the locker by name (a public place), else only
    the city."""
    if order.delivery.type is DeliveryType.LOCKER and order.delivery.locker_id:
        name = (locker or {}).get("name") or order.delivery.locker_id
        return f"To the locker at {name}"
    return f"Delivery to {order.address.city}"


def entries(timeline: Sequence[TimelineEvent]) -> list[Entry]:
    """The timeline oldest first, each run of one status shown once, at its first moment (a
    driver's arrival, a new pickup code or more time do not say the status again)."""
    shown: list[Entry] = []
    for event in timeline:
        if shown and shown[-1].status is event.status:
            continue
        if event.status is S.FAILED_ATTEMPT:
            words = failure_words(failure_reason(event))
        else:
            words = TYPE_WORDS.get(event.type) or STATUS_WORDS.get(event.status, str(event.status))
        shown.append(Entry(event.status, words, event.at))
    return shown
