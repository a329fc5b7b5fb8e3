import json

import pytest

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.lockers import MAX_LOCKER_PARCELS
from chalicelib.domain.order import DeliveryType, Window
from chalicelib.intake.canonical import MAX_PARCELS, order_json_schema, parse_canonical, parse_order
from tests.builders import an_order


def test_valid_order_becomes_a_draft() -> None:
    d = parse_order(an_order(delivery={"type": "locker", "locker_id": "lck_1"}))
    assert d.external_id == "ext-1001"
    assert d.address.country == "GB"
    assert d.delivery.type is DeliveryType.LOCKER
    assert d.parcels[0].weight_kg == 2.5


def test_a_locker_order_of_as_many_parcels_as_a_deposit_takes_is_accepted() -> None:
    draft = parse_order(
        an_order(
            delivery={"type": "locker", "locker_id": "lck_1"},
            parcels=[{"weight_kg": 1}] * MAX_LOCKER_PARCELS,
        )
    )
    assert len(draft.parcels) == MAX_LOCKER_PARCELS


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"parcels": [{"weight_kg": -1}]}, "parcels.0.weight_kg"),
        ({"parcels": []}, "parcels"),
        ({"parcels": [{"weight_kg": 1}] * (MAX_PARCELS + 1)}, "parcels"),
        ({"customer": {"name": ""}}, "customer.name"),
        ({"external_id": ""}, "external_id"),
        (
            {
                "delivery": {
                    "type": "home",
                    "window": {"start": "2026-11-21T12:00:00+00:00", "end": "2026-11-21T10:00:00Z"},
                }
            },
            "delivery.window",
        ),
        ({"delivery": {"type": "locker"}}, "delivery"),
        ({"delivery": {"type": "drone-drop"}}, "delivery.type"),
        (  # more than a locker's deposit takes (one transaction's doors)
            {
                "delivery": {"type": "locker", "locker_id": "lck_1"},
                "parcels": [{"weight_kg": 1}] * (MAX_LOCKER_PARCELS + 1),
            },
            "parcels",
        ),
        ({"parcels": [{"weight_kg": 1e-200}]}, "parcels.0.weight_kg"),
        ({"parcels": [{"weight_kg": float("nan")}]}, "parcels.0.weight_kg"),
        ({"external_id": "\U0001f4e6" * 64}, "external_id"),  # 64 characters, 256 bytes
        ({"updated_at": "garbage"}, "updated_at"),
        ({"updated_at": "2026-11-20T10:00:00"}, "updated_at"),
        ({"updated_at": "1999-12-31T23:59:59Z"}, "updated_at"),
        (
            {
                "delivery": {
                    "type": "home",
                    "window": {"start": "9999-12-31T10:00:00Z", "end": "9999-12-31T12:00:00Z"},
                }
            },
            "delivery.window.start",
        ),
    ],
)
def test_bad_fields_are_named(overrides: dict, field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_order(an_order(**overrides))
    assert caught.value.field == field


def test_latitude_without_longitude_is_refused() -> None:
    address = an_order()["address"] | {"lng": None}
    with pytest.raises(ValidationFailed, match="lat and lng"):
        parse_order(an_order(address=address))


def test_window_needs_an_offset() -> None:
    window = {"start": "2026-11-21T10:00:00", "end": "2026-11-21T12:00:00"}
    with pytest.raises(ValidationFailed):
        parse_order(an_order(delivery={"type": "home", "window": window}))


def test_schema_is_published_as_json_schema() -> None:
    schema = order_json_schema()
    json.dumps(schema)
    assert set(schema["required"]) == {"external_id", "customer", "address", "parcels"}


def test_times_are_kept_in_the_house_format() -> None:
    window = {"start": "2026-11-21T10:00:00+01:00", "end": "2026-11-21T12:00:00.5+01:00"}
    order = parse_canonical(
        an_order(
            updated_at="2026-11-20T10:00:00-05:00", delivery={"type": "home", "window": window}
        )
    )
    assert order.source_updated_at == "2026-11-20T15:00:00.000Z"
    assert order.to_draft().delivery.window == Window(
        start="2026-11-21T09:00:00.000Z", end="2026-11-21T11:00:00.500Z"
    )


def test_an_id_of_many_multibyte_characters_under_the_byte_limit_is_kept() -> None:
    external_id = "\U0001f4e6" * 63  # 252 bytes
    assert parse_order(an_order(external_id=external_id)).external_id == external_id
