import json
from dataclasses import replace

from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.order import Order, receive
from chalicelib.intake.canonical import parse_order
from chalicelib.tracking.public import Pickup, public_view
from tests.builders import an_order


def test_public_view_shows_first_name_and_city_and_nothing_private() -> None:
    order, events = receive(parse_order(an_order()), merchant_id="m1", depot_id="d1", source="api")
    view = public_view(order, events)
    assert view["first_name"] == "Grace"
    assert view["city"] == "London"
    assert view["status"] == "ready"
    assert [e["status"] for e in view["events"]] == ["received", "ready"]
    text = json.dumps(view)
    for private in (
        "Hopper",
        "Baker Street",
        "NW1 6XE",
        "grace@example.com",
        "7700900456",
        "51.5238",
        "m1",
    ):
        assert private not in text


def a_locker_order(**delivery: object) -> Order:
    body = an_order(delivery={"type": "locker", "locker_id": "lkr_station", **delivery})
    order, _ = receive(parse_order(body), merchant_id="m1", depot_id="d1", source="api")
    return order


STATION = {
    "locker_id": "lkr_station",
    "name": "Temple Meads Station",
    "lat": 51.449,
    "lng": -2.581,
    "opening_hours": "daily 24 hours",
    "address": "Station Approach, Bristol BS1 6QF",
}


def test_a_locker_delivery_shows_the_lockers_public_details_and_the_pickup_deadline() -> None:
    order = a_locker_order()
    waiting = replace(order, status=OrderStatus.IN_LOCKER)
    pickup = Pickup(by="2025-07-04T17:00:00Z", extended=False, can_resend=True)
    view = public_view(waiting, [], locker=STATION, pickup=pickup)
    assert view["delivery"] == {
        "type": "locker",
        "locker": STATION | {"pickup_by": "2025-07-04T17:00:00Z", "extended": False},
    }
    assert "can_resend" not in json.dumps(view)
    for private in ("Hopper", "Baker Street", "NW1 6XE", "grace@example.com", "7700900456"):
        assert private not in json.dumps(view)
    # Before the parcel is in the locker: the locker, and no deadline.
    assert public_view(order, [], locker=STATION)["delivery"]["locker"] == STATION


def test_choices_drop_the_distance_from_the_customers_home_and_the_room_left() -> None:
    order, _ = receive(parse_order(an_order()), merchant_id="m1", depot_id="d1", source="api")
    offered = [STATION | {"distance_m": 1234, "free": {"M": 2}}]
    view = public_view(order, [], choices=offered)
    assert view["delivery_choices"] == {"lockers": [STATION], "home": False}
    assert view["delivery"] == {"type": "home"}
    assert "delivery_choices" not in public_view(order, [])
