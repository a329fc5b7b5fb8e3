"""What a customer answers from the tracking page: a rating once the parcel has arrived (once per
order), and another day for delivery after a failed attempt."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Protocol

from chalicelib.domain.errors import AlreadyExists, ConcurrentUpdate, Conflict, ValidationFailed
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.order import Order, TimelineEvent, Window
from chalicelib.domain.times import iso_z, utc_now

RATINGS = range(1, 6)
RATING_TEXTS = frozenset(str(rating) for rating in RATINGS)
MAX_COMMENT = 500
RATEABLE = frozenset({OrderStatus.DELIVERED, OrderStatus.COLLECTED})
SAVE_ATTEMPTS = 3  # re-reads of the order after a driver's or the merchant's write meanwhile
RESCHEDULE_AHEAD = range(1, 8)  # tomorrow up to a week from today, in the depot's zone
DAY_OPENS, DAY_CLOSES = time(8), time(20)


class FeedbackAlreadyGiven(AlreadyExists):
    code = "feedback_already_given"


class FeedbackNotOpen(Conflict):
    """The parcel has not arrived (or was not collected): nothing to rate yet."""

    code = "feedback_not_open"


class RescheduleNotOffered(Conflict):
    """Another day is offered only after a failed attempt, while the order waits for a run."""

    code = "reschedule_not_offered"


@dataclass(frozen=True)
class Feedback:
    rating: int
    comment: str | None
    at: str


class FeedbackWriter(Protocol):
    def add(self, order_id: str, feedback: Feedback) -> None: ...


class OrderWriter(Protocol):
    def save(self, order: Order, events: list[TimelineEvent], *, expected_version: int) -> None: ...


def parse_rating(raw: object) -> int:
    """A whole number of stars, 1 to 5 (a form's "4" as well as JSON's 4); 422 otherwise."""
    if isinstance(raw, bool):
        raw = None
    if isinstance(raw, str):
        # Only the five texts: isdigit() also takes "²" and thousands of digits, which int()
        # refuses with a ValueError.
        raw = int(raw.strip()) if raw.strip() in RATING_TEXTS else None
    if not isinstance(raw, int) or raw not in RATINGS:
        raise ValidationFailed("rating: a whole number from 1 to 5", field="rating")
    return raw


def parse_comment(raw: object) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ValidationFailed("comment: text", field="comment")
    text = raw.strip().replace("\r\n", "\n")
    if len(text) > MAX_COMMENT:
        raise ValidationFailed(f"comment: at most {MAX_COMMENT} characters", field="comment")
    return text or None


def can_rate(order: Order) -> bool:
    return order.status in RATEABLE


def give_feedback(
    order: Order, rating: object, comment: object, store: FeedbackWriter, *, at: str | None = None
) -> Feedback:
    """Record the customer's rating of a delivered (or collected) parcel, once per order.
    ValidationFailed for a bad rating or comment, FeedbackNotOpen before arrival,
    FeedbackAlreadyGiven the second time."""
    feedback = Feedback(parse_rating(rating), parse_comment(comment), at or utc_now())
    if not can_rate(order):
        raise FeedbackNotOpen("feedback opens once the parcel is delivered or collected")
    store.add(order.order_id, feedback)
    return feedback


# -- another day ------------------------------------------------------------------------------


def can_reschedule(order: Order, timeline: list[TimelineEvent]) -> bool:
    """After a failed attempt the order is back to ready for a later run: the customer may
    then choose the day."""
    return order.status is OrderStatus.READY and any(
        event.status is OrderStatus.FAILED_ATTEMPT for event in timeline
    )


def offered_days(now: datetime, zone: tzinfo) -> list[date]:
    """The days a customer may choose: tomorrow to a week ahead, by the depot's calendar."""
    today = now.astimezone(zone).date()
    return [today + timedelta(days=ahead) for ahead in RESCHEDULE_AHEAD]


def day_window(day: date, zone: tzinfo) -> Window:
    """That day's delivery window, 08:00 to 20:00 in `zone`, as ISO 8601 with its offset."""
    start = datetime.combine(day, DAY_OPENS, tzinfo=zone)
    end = datetime.combine(day, DAY_CLOSES, tzinfo=zone)
    return Window(start.isoformat(), end.isoformat())


def parse_day(raw: object, offered: list[date]) -> date:
    try:
        day = date.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        day = None
    if day is None or day not in offered:
        first, last = offered[0].isoformat(), offered[-1].isoformat()
        raise ValidationFailed(f"date: a day from {first} to {last}", field="date")
    return day


def reschedule(
    order: Order,
    timeline: list[TimelineEvent],
    raw_day: object,
    orders: OrderWriter,
    *,
    zone: tzinfo = UTC,
    now: datetime | None = None,
) -> Order:
    """Deliver on the customer's chosen day (08:00-20:00 in the depot's zone): the order's
    window moves, written only if nobody changed the order since it was read (409 otherwise)."""
    moment = now or datetime.now(UTC)
    day = parse_day(raw_day, offered_days(moment, zone))
    if not can_reschedule(order, timeline):
        raise RescheduleNotOffered("another day can be chosen only after a failed attempt")
    at = iso_z(moment, "milliseconds")
    window = day_window(day, zone)
    moved = replace(
        order,
        delivery=replace(order.delivery, window=window),
        updated_at=at,
        version=order.version + 1,
    )
    event = TimelineEvent(at, order.status, "order.rescheduled_by_customer", f"day: {day}")
    orders.save(moved, [event], expected_version=order.version)
    return moved


class OrderTimelines(OrderWriter, Protocol):
    def get_with_timeline(self, order_id: str) -> tuple[Order, list[TimelineEvent]] | None: ...


class AnotherDay:
    """Another day as a paid action (billing/paid_actions.py): checked before the customer
    pays, so nobody pays for a refusal, and applied on the order as it is when Stripe says the
    session was paid (re-read, since the page's read may be half an hour old)."""

    def __init__(
        self,
        orders: OrderTimelines,
        zone_of: Callable[[str], tzinfo],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._orders = orders
        self._zone_of = zone_of
        self._clock = clock

    def check(self, order: Order, raw_day: object) -> None:
        found = self._orders.get_with_timeline(order.order_id)
        timeline = found[1] if found else []
        parse_day(raw_day, offered_days(self._clock(), self._zone_of(order.depot_id)))
        if not can_reschedule(order, timeline):
            raise RescheduleNotOffered("another day can be chosen only after a failed attempt")

    def choose(self, order_id: str, raw_day: object) -> Order | None:
        """The paid day applied to the order as stored now; a write meanwhile is retried on
        the fresh order (the payment is kept either way: a refusal is reported, not raised
        away)."""
        for attempt in range(SAVE_ATTEMPTS):
            found = self._orders.get_with_timeline(order_id)
            if found is None:
                return None
            order, timeline = found
            try:
                return reschedule(
                    order,
                    timeline,
                    raw_day,
                    self._orders,
                    zone=self._zone_of(order.depot_id),
                    now=self._clock(),
                )
            except ConcurrentUpdate:
                if attempt == SAVE_ATTEMPTS - 1:
                    raise
        return None
