"""The customer's rating after delivery and choice of another day after a failed attempt, and
what the tracking page shows of them; the store against moto in process (no network)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chalicelib.domain.errors import ConcurrentUpdate, ValidationFailed
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.order import Order, TimelineEvent, Window
from chalicelib.store.feedback import FeedbackStore
from chalicelib.tracking import feedback, page
from tests.unit.tracking.test_page import BASE, PRIVATE, an_order_with_distinctive_pii

S = OrderStatus
LONDON = ZoneInfo("Europe/London")
NOW = datetime(2025, 7, 1, 23, 30, tzinfo=UTC)  # already 2 July in London

DELIVERED_TIMELINE = [
    TimelineEvent("2025-07-01T06:00:00.000Z", S.READY, "order.ready"),
    TimelineEvent("2025-07-01T09:05:00.000Z", S.OUT_FOR_DELIVERY, "order.out_for_delivery"),
    TimelineEvent("2025-07-01T11:40:00.000Z", S.DELIVERED, "order.delivered"),
]
FAILED_TIMELINE = [
    TimelineEvent("2025-07-01T06:00:00.000Z", S.READY, "order.ready"),
    TimelineEvent("2025-07-01T09:05:00.000Z", S.OUT_FOR_DELIVERY, "order.out_for_delivery"),
    TimelineEvent("2025-07-01T11:40:00.000Z", S.FAILED_ATTEMPT, "order.failed", "not_home"),
    TimelineEvent("2025-07-01T11:40:00.000Z", S.READY, "order.rescheduled"),
]


class RecordingFeedback:
    def __init__(self) -> None:
        self.added: dict[str, feedback.Feedback] = {}

    def add(self, order_id: str, given: feedback.Feedback) -> None:
        if order_id in self.added:
            raise feedback.FeedbackAlreadyGiven("twice")
        self.added[order_id] = given


class RecordingOrders:
    def __init__(self) -> None:
        self.saved: list[tuple[Order, list[TimelineEvent], int]] = []

    def save(self, order: Order, events: list[TimelineEvent], *, expected_version: int) -> None:
        self.saved.append((order, events, expected_version))


def delivered() -> Order:
    return an_order_with_distinctive_pii(status=S.DELIVERED, version=5)


def rescheduled() -> Order:
    return an_order_with_distinctive_pii(status=S.READY, failed_attempts=1, version=6)


# -- rating -----------------------------------------------------------------------------------


def test_a_delivered_parcel_is_rated_once() -> None:
    store, order = RecordingFeedback(), delivered()
    given = feedback.give_feedback(order, "4", "  Friendly driver  ", store, at="t")
    assert given == feedback.Feedback(4, "Friendly driver", "t")
    assert store.added == {order.order_id: given}
    with pytest.raises(feedback.FeedbackAlreadyGiven):
        feedback.give_feedback(order, 5, None, store)
    assert store.added[order.order_id].rating == 4, "the first rating stays"


# "²" and "٣" pass str.isdigit(); "5" * 5000 is past what int() converts (a 500 once).
@pytest.mark.parametrize(
    "rating", [0, 6, "6", "", None, "four", "4.5", 4.0, True, -1, "²", "٣", "5" * 5000, "05"]
)
def test_a_rating_outside_1_to_5_is_refused(rating: object) -> None:
    store = RecordingFeedback()
    with pytest.raises(ValidationFailed) as refused:
        feedback.give_feedback(delivered(), rating, None, store)
    assert refused.value.field == "rating"
    assert store.added == {}


def test_a_forms_rating_is_its_text_trimmed() -> None:
    store = RecordingFeedback()
    assert feedback.give_feedback(delivered(), " 4 ", None, store).rating == 4


def test_a_comment_over_500_characters_is_refused_and_an_empty_one_is_none() -> None:
    store = RecordingFeedback()
    with pytest.raises(ValidationFailed) as refused:
        feedback.give_feedback(delivered(), 3, "x" * 501, store)
    assert refused.value.field == "comment" and store.added == {}
    assert feedback.give_feedback(delivered(), 3, "   ", store).comment is None
    assert feedback.parse_comment("y" * 500) == "y" * 500


@pytest.mark.parametrize("status", [S.READY, S.OUT_FOR_DELIVERY, S.IN_LOCKER, S.RETURNED])
def test_only_a_delivered_or_collected_parcel_is_rated(status: OrderStatus) -> None:
    store = RecordingFeedback()
    with pytest.raises(feedback.FeedbackNotOpen):
        feedback.give_feedback(replace(delivered(), status=status), 5, None, store)
    assert store.added == {}
    feedback.give_feedback(replace(delivered(), status=S.COLLECTED), 5, None, store)


def test_the_store_keeps_the_first_feedback_by_a_conditional_put(dynamodb: Any) -> None:
    store = FeedbackStore()
    assert store.get("ord_1") is None
    first = feedback.Feedback(5, "Great", "2025-07-01T12:00:00.000Z")
    store.add("ord_1", first)
    with pytest.raises(feedback.FeedbackAlreadyGiven):
        store.add("ord_1", feedback.Feedback(1, None, "2025-07-01T12:05:00.000Z"))
    assert store.get("ord_1") == first
    store.add("ord_2", feedback.Feedback(2, None, "2025-07-01T12:06:00.000Z"))
    assert store.get("ord_2") == feedback.Feedback(2, None, "2025-07-01T12:06:00.000Z")


# -- another day ------------------------------------------------------------------------------


def test_days_offered_are_tomorrow_to_a_week_ahead_in_the_depots_calendar() -> None:
    days = feedback.offered_days(NOW, LONDON)
    assert days[0] == date(2025, 7, 3) and days[-1] == date(2025, 7, 9) and len(days) == 7
    assert feedback.offered_days(NOW, UTC)[0] == date(2025, 7, 2)


def test_the_chosen_day_becomes_the_orders_window_8_to_20_local() -> None:
    orders = RecordingOrders()
    order = rescheduled()
    moved = feedback.reschedule(order, FAILED_TIMELINE, "2025-07-04", orders, zone=LONDON, now=NOW)
    assert moved.delivery.window == Window("2025-07-04T08:00:00+01:00", "2025-07-04T20:00:00+01:00")
    assert moved.version == 7 and moved.status is S.READY
    assert moved.updated_at == "2025-07-01T23:30:00.000Z"
    [(saved, [event], expected)] = orders.saved
    assert saved == moved and expected == 6
    assert event.type == "order.rescheduled_by_customer" and event.status is S.READY
    assert event.at == "2025-07-01T23:30:00.000Z"
    assert replace(moved, delivery=order.delivery, updated_at=order.updated_at, version=6) == order


@pytest.mark.parametrize("day", ["2025-07-02", "2025-07-10", "2025-06-30", "tomorrow", "", None])
def test_a_day_outside_the_week_ahead_is_refused(day: object) -> None:
    orders = RecordingOrders()
    with pytest.raises(ValidationFailed) as refused:
        feedback.reschedule(rescheduled(), FAILED_TIMELINE, day, orders, zone=LONDON, now=NOW)
    assert refused.value.field == "date" and "2025-07-03 to 2025-07-09" in refused.value.message
    assert orders.saved == []


def test_another_day_is_offered_only_after_a_failed_attempt_while_ready() -> None:
    orders = RecordingOrders()
    fresh = an_order_with_distinctive_pii(status=S.READY)
    assert not feedback.can_reschedule(fresh, DELIVERED_TIMELINE[:1])
    with pytest.raises(feedback.RescheduleNotOffered):
        feedback.reschedule(fresh, DELIVERED_TIMELINE[:1], "2025-07-04", orders, now=NOW)
    planned = replace(rescheduled(), status=S.PLANNED)
    with pytest.raises(feedback.RescheduleNotOffered):
        feedback.reschedule(planned, FAILED_TIMELINE, "2025-07-04", orders, now=NOW)
    assert orders.saved == []
    assert feedback.can_reschedule(rescheduled(), FAILED_TIMELINE)


# -- the page ---------------------------------------------------------------------------------


def test_a_delivered_page_offers_a_rating_form_posting_back_to_this_site() -> None:
    order = delivered()
    html = page.render_page(page.Tracking(order, DELIVERED_TIMELINE), base_url=BASE)
    assert f'<form method="post" action="{order.tracking_code}/feedback">' in html
    for value in range(1, 6):
        assert f'name="rating" value="{value}"' in html
    assert 'maxlength="500"' in html and 'id="thanks"' not in html
    assert "form-action 'self'" in page.headers()["Content-Security-Policy"]
    for private in PRIVATE:
        assert private not in html, private


def test_once_rated_the_page_thanks_the_customer_instead_of_asking() -> None:
    given = feedback.Feedback(4, "Left with Zanzibarovic next door", "t")
    html = page.render_page(
        page.Tracking(delivered(), DELIVERED_TIMELINE), base_url=BASE, feedback=given
    )
    assert 'id="thanks"' in html and "You rated this delivery 4 out of 5" in html
    assert "/feedback" not in html
    for private in PRIVATE:
        assert private not in html, private


def test_no_rating_form_before_delivery() -> None:
    html = page.render_page(page.Tracking(rescheduled(), FAILED_TIMELINE[:3]), base_url=BASE)
    assert 'id="feedback"' not in html


def test_after_a_failed_attempt_the_page_offers_the_week_ahead() -> None:
    order = rescheduled()
    html = page.render_page(
        page.Tracking(order, FAILED_TIMELINE), base_url=BASE, timezone="Europe/London", now=NOW
    )
    assert f'action="{order.tracking_code}/reschedule"' in html
    assert '<option value="2025-07-03">Thu 3 Jul</option>' in html
    assert '<option value="2025-07-09">Wed 9 Jul</option>' in html
    assert 'value="2025-07-02"' not in html and 'value="2025-07-10"' not in html
    assert 'id="chosen"' not in html
    assert "offered here soon" not in html, "lockers are offered by their own form"
    chosen = replace(
        order,
        delivery=replace(
            order.delivery,
            window=Window("2025-07-04T08:00:00+01:00", "2025-07-04T20:00:00+01:00"),
        ),
    )
    html = page.render_page(
        page.Tracking(chosen, FAILED_TIMELINE), base_url=BASE, timezone="Europe/London", now=NOW
    )
    assert "We will come on Fri 4 Jul, between 08:00 and 20:00." in html
    for private in PRIVATE:
        assert private not in html, private


def test_no_choice_of_day_without_a_failed_attempt() -> None:
    order = an_order_with_distinctive_pii(status=S.READY)
    html = page.render_page(page.Tracking(order, FAILED_TIMELINE[:1]), base_url=BASE, now=NOW)
    assert 'id="reschedule"' not in html


def test_a_refusal_page_links_back_and_escapes() -> None:
    html = page.render_message("We already have your feedback", "<b>once</b>", back="/track/X")
    assert "We already have your feedback" in html and "&lt;b&gt;once" in html
    assert '<a href="/track/X">' in html


class VersionedOrders:
    """Orders with their timelines and a version check on save, like the store's conditional
    put; `meanwhile` writes of another party land between the next read and its save."""

    def __init__(self, order: Order, timeline: list[TimelineEvent], meanwhile: int = 0) -> None:
        self.order, self.timeline, self.meanwhile = order, list(timeline), meanwhile

    def get_with_timeline(self, order_id: str) -> tuple[Order, list[TimelineEvent]] | None:
        return (self.order, list(self.timeline)) if order_id == self.order.order_id else None

    def save(self, order: Order, events: list[TimelineEvent], *, expected_version: int) -> None:
        if self.meanwhile:
            self.meanwhile -= 1
            self.order = replace(self.order, version=self.order.version + 1)  # a driver's write
        if expected_version != self.order.version:
            raise ConcurrentUpdate("changed meanwhile")
        self.order = order
        self.timeline.extend(events)


def test_a_paid_day_is_applied_to_the_order_as_stored_when_the_payment_arrives() -> None:
    order = rescheduled()
    orders = VersionedOrders(order, FAILED_TIMELINE, meanwhile=1)
    another = feedback.AnotherDay(orders, lambda _: LONDON, clock=lambda: NOW)
    another.check(order, "2025-07-04")  # before the customer pays
    moved = another.choose(order.order_id, "2025-07-04")
    assert moved is not None and moved.delivery.window == Window(
        "2025-07-04T08:00:00+01:00", "2025-07-04T20:00:00+01:00"
    )
    assert orders.order == moved and orders.order.version == order.version + 2
    assert [e.type for e in orders.timeline].count("order.rescheduled_by_customer") == 1
    with pytest.raises(feedback.RescheduleNotOffered):
        another.check(replace(order, status=S.PLANNED), "2025-07-04")
    with pytest.raises(ValidationFailed):
        another.check(order, "2025-07-02")  # today in London: refused before any payment
