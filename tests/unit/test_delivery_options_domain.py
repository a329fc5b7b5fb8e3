"""The pure parts of delivery options: seats per slot from a fleet's shifts, and prices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.delivery_options.capacity import STOPS_PER_VEHICLE_HOUR, slots
from chalicelib.delivery_options.pricing import Band, PriceList
from chalicelib.domain.money import Money
from chalicelib.domain.tenancy import Vehicle

NOW = datetime(2026, 12, 1, 7, 40, tzinfo=UTC)


def _van(start: datetime, hours: float, parcels: int) -> Vehicle:
    end = start + timedelta(hours=hours)
    return Vehicle("v", "van", parcels, parcels * 10.0, start.isoformat(), end.isoformat())


def test_slots_start_on_whole_hours_after_the_lead_and_share_each_vans_capacity() -> None:
    found = slots([_van(datetime(2026, 12, 1, 8, tzinfo=UTC), 10, 50)], NOW)
    assert [s.start.hour for s in found] == [9, 11, 13, 15]  # 08:10 is inside the lead time
    assert {s.seats for s in found} == {10}  # 50 parcels over 10 hours, two hours a slot


def test_a_slot_has_no_more_seats_than_its_vehicle_hours_allow() -> None:
    [first, *_] = slots([_van(datetime(2026, 12, 1, 9, tzinfo=UTC), 4, 1000)], NOW)
    assert first.seats == 2 * STOPS_PER_VEHICLE_HOUR


def test_no_fleet_no_slots() -> None:
    assert slots([], NOW) == []


def test_prices_per_type_slot_start_and_the_highest_band_passed() -> None:
    prices = PriceList(
        "EUR",
        {"slot": 790, "standard": 490},
        slot_prices={"18:00": 990},
        weight_bands=(Band(5, 300), Band(20, 900)),
        distance_bands=(Band(8, 200),),
    )
    assert prices.price("slot", local_start="10:00", weight_kg=1, distance_km=1) == Money(
        790, "EUR"
    )
    assert prices.price("slot", local_start="18:00", weight_kg=6, distance_km=9) == Money(
        990 + 300 + 200, "EUR"
    )
    assert prices.price("standard", local_start=None, weight_kg=25, distance_km=None) == Money(
        490 + 900, "EUR"
    )
    assert prices.price("express", local_start=None, weight_kg=1, distance_km=1) is None
    assert PriceList.from_dict(prices.as_dict()) == prices
