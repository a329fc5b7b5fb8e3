"""What the tracking page and its JSON twin show of lockers: the locker's public details, the
pickup deadline in the depot's time, the forms a customer may use (another locker, home after
all, a new code, more time) only while they are offered, and never a pickup code."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.domain.errors import LockerNotFound
from chalicelib.domain.lifecycle import EDITABLE, OrderStatus
from chalicelib.domain.lockers import (
    DAYS,
    Locker,
    LockerAddress,
    LockerParcel,
    OpeningHours,
    ParcelState,
)
from chalicelib.domain.order import Delivery, DeliveryType, Order, TimelineEvent
from chalicelib.tracking import page
from tests.unit.tracking.test_page import BASE, PRIVATE, an_order_with_distinctive_pii

S = OrderStatus
NOW = datetime(2025, 7, 1, 23, 30, tzinfo=UTC)
SECRET_HASH = "c0dehash" * 8
SECRET_SALT = "5a175a175a175a17"

HOME_TIMELINE = [
    TimelineEvent("2025-07-01T06:00:00.000Z", S.RECEIVED, "order.received"),
    TimelineEvent("2025-07-01T06:00:00.000Z", S.READY, "order.ready"),
]
FAILED_TIMELINE = [
    *HOME_TIMELINE,
    TimelineEvent("2025-07-01T09:05:00.000Z", S.OUT_FOR_DELIVERY, "order.out_for_delivery"),
    TimelineEvent("2025-07-01T11:40:00.000Z", S.FAILED_ATTEMPT, "order.failed", "not_home"),
    TimelineEvent("2025-07-01T11:40:00.000Z", S.READY, "order.rescheduled"),
]
IN_LOCKER_TIMELINE = [
    *HOME_TIMELINE,
    TimelineEvent("2025-07-01T09:05:00.000Z", S.OUT_FOR_DELIVERY, "order.out_for_delivery"),
    TimelineEvent("2025-07-01T10:00:00.000Z", S.IN_LOCKER, "order.in_locker"),
]


def a_locker(locker_id: str, name: str, **changes: Any) -> Locker:
    locker = Locker(
        locker_id=locker_id,
        name=name,
        lat=51.45,
        lng=-2.58,
        depot_id="dep_1",
        created_at="2025-06-01T00:00:00Z",
        address=LockerAddress("1 Harbourside", "Bristol", "BS1 5DB"),
        opening_hours=(OpeningHours(DAYS[:5], "07:00", "22:00"),),
    )
    return replace(locker, **changes)


STATION = a_locker("lkr_station", "Temple Meads Station")
MARKET = a_locker(
    "lkr_market",
    "St Nicholas Market",
    address=None,
    opening_hours=(OpeningHours(DAYS, "00:00", "24:00"),),
)


def a_choice(locker: Locker, distance_m: int) -> dict[str, Any]:
    """A choice as LockerChoices.choices gives it: the public view, distance and room."""
    return {**locker.public(), "distance_m": distance_m, "free": {"M": 3}}


def a_parcel(order: Order, **changes: Any) -> LockerParcel:
    parcel = LockerParcel(
        locker_id=STATION.locker_id,
        order_id=order.order_id,
        depot_id="dep_1",
        compartment_ids=("A1",),
        state=ParcelState.DEPOSITED,
        deposited_at="2025-07-01T10:00:00Z",
        pickup_by="2025-07-04T17:00:00Z",
        code_salt=SECRET_SALT,
        code_hash=SECRET_HASH,
    )
    return replace(parcel, **changes)


class FakeLockers:
    """The locker service as the page asks it, recording what it was asked."""

    def __init__(
        self,
        lockers: list[Locker] | None = None,
        held: LockerParcel | None = None,
        choices: list[dict[str, Any]] | None = None,
    ) -> None:
        self.lockers = {lk.locker_id: lk for lk in lockers or [STATION, MARKET]}
        self.held = held
        self.offered = choices if choices is not None else [a_choice(MARKET, 1234)]
        self.asked_choices: list[str] = []

    def locker(self, locker_id: str) -> Locker:
        if locker_id not in self.lockers:
            raise LockerNotFound(f"no locker {locker_id}")
        return self.lockers[locker_id]

    def held_parcel(self, order: Order) -> LockerParcel | None:
        return self.held if order.status is S.IN_LOCKER else None

    def choices(self, order: Order) -> list[dict[str, Any]]:
        self.asked_choices.append(order.order_id)
        return self.offered if self.can_choose(order) else []

    def can_choose(self, order: Order) -> bool:
        return order.status in EDITABLE


def to_station(**changes: Any) -> Order:
    return an_order_with_distinctive_pii(
        delivery=Delivery(DeliveryType.LOCKER, STATION.locker_id), **changes
    )


def tracked(
    order: Order, timeline: list[TimelineEvent], lockers: FakeLockers | None = None
) -> page.Tracking:
    return page.with_lockers(page.Tracking(order, timeline), lockers or FakeLockers())


def render(tracking: page.Tracking) -> str:
    return page.render_page(tracking, base_url=BASE, timezone="Europe/London", now=NOW)


def assert_nothing_secret(text: str) -> None:
    for private in (*PRIVATE, SECRET_HASH, SECRET_SALT, "distance_m", "free"):
        assert private not in text, private


def forms(html: str) -> list[str]:
    return re.findall(r'<form method="post" action="[^"]*/([a-z-]+)"', html)


# -- the locker's details and the pickup deadline ----------------------------------------------


def test_a_locker_delivery_shows_the_lockers_public_details_on_page_and_json() -> None:
    tracking = tracked(to_station(status=S.PLANNED), HOME_TIMELINE)
    html = render(tracking)
    assert '<p class="locker-name" id="locker-name">Temple Meads Station</p>' in html
    assert '<p id="locker-address">1 Harbourside, Bristol BS1 5DB</p>' in html
    assert "Open Mon-Fri 07:00-22:00" in html
    assert 'id="pickup-by"' not in html, "not in the locker yet"
    assert forms(html) == [], "planned: nothing to choose, no code to ask for"

    view = tracking.public()
    assert view["delivery"] == {
        "type": "locker",
        "locker": {
            "locker_id": "lkr_station",
            "name": "Temple Meads Station",
            "address": "1 Harbourside, Bristol BS1 5DB",
            "opening_hours": "Mon-Fri 07:00-22:00",
            "lat": 51.45,
            "lng": -2.58,
        },
    }
    assert "delivery_choices" not in view
    assert_nothing_secret(html)
    assert_nothing_secret(json.dumps(view))


def test_in_the_locker_the_deadline_is_local_and_both_forms_are_offered() -> None:
    order = to_station(status=S.IN_LOCKER)
    tracking = tracked(order, IN_LOCKER_TIMELINE, FakeLockers(held=a_parcel(order)))
    html = render(tracking)
    # 17:00 UTC is 18:00 in London in July.
    assert "Collect it by Fri 4 Jul, 18:00" in html and "Times in Europe/London" in html
    assert f'action="{order.tracking_code}/pickup-code"' in html
    assert f'action="{order.tracking_code}/extension"' in html
    assert "Send me a new code" in html and "I need more time" in html
    assert forms(html) == ["pickup-code", "extension"]
    assert html.count("<script") == 1, "the page's own refresh script only"
    view = tracking.public()
    assert view["delivery"]["locker"]["pickup_by"] == "2025-07-04T17:00:00Z"
    assert view["delivery"]["locker"]["extended"] is False
    assert_nothing_secret(html)
    assert_nothing_secret(json.dumps(view))


def test_more_time_is_hidden_once_extended_and_new_codes_once_used_up() -> None:
    order = to_station(status=S.IN_LOCKER)
    extended = a_parcel(order, extended=True, pickup_by="2025-07-06T17:00:00Z")
    html = render(tracked(order, IN_LOCKER_TIMELINE, FakeLockers(held=extended)))
    assert "Collect it by Sun 6 Jul, 18:00" in html
    assert forms(html) == ["pickup-code"]
    used_up = a_parcel(order, extended=True, resends=3)
    assert forms(render(tracked(order, IN_LOCKER_TIMELINE, FakeLockers(held=used_up)))) == []


def test_a_collected_parcel_shows_no_deadline_and_no_locker_forms() -> None:
    order = to_station(status=S.COLLECTED)
    lockers = FakeLockers(held=a_parcel(order))
    html = render(tracked(order, IN_LOCKER_TIMELINE, lockers))
    assert "Temple Meads Station" in html
    assert 'id="pickup-by"' not in html
    assert forms(html) == ["feedback"]
    assert lockers.asked_choices == [], "choices are not even looked up once it cannot change"


def test_a_locker_id_naming_no_locker_is_shown_as_the_id() -> None:
    order = an_order_with_distinctive_pii(
        status=S.PLANNED, delivery=Delivery(DeliveryType.LOCKER, "LKR-UNKNOWN")
    )
    tracking = tracked(order, HOME_TIMELINE)
    assert "Locker <code>LKR-UNKNOWN</code>" in render(tracking)
    assert tracking.public()["delivery"]["locker"] == {"locker_id": "LKR-UNKNOWN"}


# -- choosing a locker, or home after all --------------------------------------------------


def test_a_ready_home_delivery_is_offered_the_lockers_near_it_as_radio_buttons() -> None:
    order = an_order_with_distinctive_pii(status=S.READY)
    offered = [a_choice(MARKET, 1234), a_choice(STATION, 2345)]
    tracking = tracked(order, HOME_TIMELINE, FakeLockers(choices=offered))
    html = render(tracking)
    assert "Collect from a locker instead" in html
    assert forms(html) == ["locker"]
    assert re.findall(r'name="locker_id" value="([^"]+)"', html) == ["lkr_market", "lkr_station"]
    assert html.count('type="radio"') == 2 and html.count(" required") == 1
    assert "St Nicholas Market" in html and "Open daily 24 hours" in html
    assert "Deliver to my address instead" not in html, "it is going home already"
    assert 'id="locker"' not in html
    choices = tracking.public()["delivery_choices"]
    assert choices["home"] is False
    assert [c["locker_id"] for c in choices["lockers"]] == ["lkr_market", "lkr_station"]
    assert set(choices["lockers"][0]) == {"locker_id", "name", "opening_hours", "lat", "lng"}
    assert_nothing_secret(html)
    assert_nothing_secret(json.dumps(tracking.public()))


def test_a_ready_locker_delivery_may_go_home_or_to_another_locker() -> None:
    order = to_station(status=S.READY)
    html = render(tracked(order, HOME_TIMELINE))
    assert "Collect from another locker" in html
    assert forms(html) == ["locker", "locker"]
    assert '<input type="hidden" name="locker_id" value="home">' in html
    assert "Deliver to my address instead" in html
    assert 'id="locker-full"' not in html
    assert tracked(order, HOME_TIMELINE).public()["delivery_choices"]["home"] is True


def test_a_locker_delivery_with_no_other_locker_near_may_still_go_home() -> None:
    order = to_station(status=S.READY)
    html = render(tracked(order, HOME_TIMELINE, FakeLockers(choices=[])))
    assert 'type="radio"' not in html
    assert forms(html) == ["locker"] and "Deliver to my address instead" in html


def test_a_home_delivery_with_no_locker_near_is_offered_nothing() -> None:
    order = an_order_with_distinctive_pii(status=S.READY)
    tracking = tracked(order, HOME_TIMELINE, FakeLockers(choices=[]))
    assert 'id="choose-locker"' not in render(tracking)
    assert tracking.public()["delivery_choices"] == {"lockers": [], "home": False}


def test_when_the_chosen_locker_was_full_the_page_says_so_and_offers_the_others() -> None:
    order = to_station(status=S.READY, unassigned_reason="locker_full")
    html = render(tracked(order, HOME_TIMELINE))
    assert 'id="locker-full"' in html and "The locker you chose was full" in html
    assert re.findall(r'name="locker_id" value="([^"]+)"', html) == ["lkr_market", "home"]
    assert_nothing_secret(html)


def test_after_a_failed_attempt_a_locker_is_offered_beside_another_day() -> None:
    order = an_order_with_distinctive_pii(status=S.READY, failed_attempts=1)
    html = render(tracked(order, FAILED_TIMELINE))
    assert "We missed you. You can also collect your parcel from a locker near you" in html
    assert forms(html) == ["reschedule", "locker"]
    assert_nothing_secret(html)


@pytest.mark.parametrize("status", [S.PLANNED, S.OUT_FOR_DELIVERY, S.DELIVERED, S.CANCELLED])
def test_no_choice_once_where_it_goes_can_no_longer_change(status: OrderStatus) -> None:
    for order in (to_station(status=status), an_order_with_distinctive_pii(status=status)):
        lockers = FakeLockers()
        tracking = tracked(order, HOME_TIMELINE, lockers)
        html = render(tracking)
        assert 'id="choose-locker"' not in html and "/locker" not in html
        assert "delivery_choices" not in tracking.public()
        assert lockers.asked_choices == []


def test_without_the_locker_service_the_page_shows_the_order_alone() -> None:
    order = to_station(status=S.READY)
    html = render(page.Tracking(order, HOME_TIMELINE))
    assert "Locker <code>lkr_station</code>" in html
    assert 'id="choose-locker"' not in html
