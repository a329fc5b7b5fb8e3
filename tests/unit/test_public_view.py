import json

from chalicelib.domain.order import receive
from chalicelib.intake.canonical import parse_order
from chalicelib.tracking.public import public_view
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
