"""Choosing the depot for an order: area, cut-off in the depot's zone, daily capacity, stock;
fewest shipments first, then nearest; and splitting."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time

from chalicelib.allocation.areas import ServiceArea
from chalicelib.allocation.rules import (
    MAX_SHIPMENTS,
    Location,
    Reach,
    choose,
    merge_lines,
    promised_day,
    reachable,
)
from chalicelib.domain.order import Line
from chalicelib.domain.tenancy import Depot

DAY = date(2030, 6, 3)


def a_location(depot_id: str, lat: float = 51.5, lng: float = -0.12, **kw: object) -> Location:
    fields: dict = {"timezone": "Europe/London", "area": ServiceArea(radius_km=50)} | kw
    return Location(depot_id, lat, lng, **fields)


def reach(depot_id: str, km: float, **kw: object) -> Reach:
    return Reach(a_location(depot_id, **kw), km * 1000, DAY)


def test_location_reads_the_depots_settings() -> None:
    depot = Depot(
        "d1",
        "Depot",
        51.5,
        -0.12,
        "Europe/London",
        "2030-01-01T00:00:00Z",
        fulfilment={
            "service_area": {"radius_km": 12},
            "daily_capacity": {"parcels": 300},
            "cutoff": "14:00",
        },
    )
    location = Location.of(depot)
    assert location.area.radius_km == 12
    assert location.capacity == 300
    assert (location.capacity_unit, location.cutoff) == ("parcels", time(14))
    assert location.load(3) == 3
    plain = Location.of(Depot("d2", "D", 51.5, -0.12, "UTC", "2030-01-01T00:00:00Z"))
    assert (plain.capacity, plain.cutoff, plain.load(3)) == (None, None, 1)


def test_cutoff_is_the_depots_local_time_across_a_day_boundary() -> None:
    # Auckland is UTC+12 in June: 01:30 UTC on the 3rd is 13:30 local, before a 14:00 cut-off.
    akl = a_location("akl", timezone="Pacific/Auckland", cutoff=time(14))
    assert promised_day(akl, datetime(2030, 6, 3, 1, 30, tzinfo=UTC), None) == date(2030, 6, 3)
    # 02:30 UTC is 14:30 there: tomorrow (local), though it is still the 3rd in UTC.
    assert promised_day(akl, datetime(2030, 6, 3, 2, 30, tzinfo=UTC), None) == date(2030, 6, 4)
    # 13:00 UTC on the 3rd is already 01:00 on the 4th in Auckland: the 4th, same day.
    assert promised_day(akl, datetime(2030, 6, 3, 13, 0, tzinfo=UTC), None) == date(2030, 6, 4)


def test_a_window_is_taken_until_the_cutoff_of_its_own_day() -> None:
    london = a_location("ldn", cutoff=time(14))  # BST in June: UTC+1
    window = datetime(2030, 6, 3, 16, 0, tzinfo=UTC)
    assert promised_day(london, datetime(2030, 6, 3, 12, 59, tzinfo=UTC), window) == DAY
    assert promised_day(london, datetime(2030, 6, 3, 13, 0, tzinfo=UTC), window) is None
    tomorrow = datetime(2030, 6, 4, 9, 0, tzinfo=UTC)
    assert promised_day(london, datetime(2030, 6, 3, 20, 0, tzinfo=UTC), tomorrow) == date(
        2030, 6, 4
    )
    no_cutoff = a_location("any")
    assert promised_day(no_cutoff, datetime(2030, 6, 3, 23, 0, tzinfo=UTC), window) == DAY


def test_reachable_filters_by_area_then_cutoff_and_sorts_nearest_first() -> None:
    near = a_location("near", 51.51, -0.12)
    far = a_location("far", 51.7, -0.12)
    away = a_location("away", 55.95, -3.19)
    now = datetime(2030, 6, 3, 9, 0, tzinfo=UTC)
    found, reason = reachable([far, away, near], 51.5, -0.12, now, None)
    assert reason is None
    assert [r.location.depot_id for r in found] == ["near", "far"]
    assert reachable([away], 51.5, -0.12, now, None) == ([], "out_of_area")
    late = a_location("late", cutoff=time(9))
    window = datetime(2030, 6, 3, 15, 0, tzinfo=UTC)
    assert reachable([late], 51.5, -0.12, now, window) == ([], "past_cutoff")
    # A locker order does not ask the address's area.
    assert reachable([away], 51.5, -0.12, now, None, check_area=False)[1] is None


def test_one_depot_holding_everything_nearest_first() -> None:
    lines = [Line("A", 2), Line("B", 1)]
    reaches = [reach("near", 1), reach("far", 9)]
    free = {("near", "A"): 2, ("near", "B"): 1, ("far", "A"): 5, ("far", "B"): 5}
    plan = choose(reaches, lines, 1, free, {})
    assert [s.depot_id for s in plan.shipments] == ["near"]
    assert plan.shipments[0].reserve == (Line("A", 2), Line("B", 1))
    # The near one short of one unit: the far one sends it all (fewer shipments beats nearer).
    free[("near", "A")] = 1
    plan = choose(reaches, lines, 1, free, {})
    assert [s.depot_id for s in plan.shipments] == ["far"]


def test_fewest_shipments_then_nearest_set() -> None:
    lines = [Line("A", 1), Line("B", 1), Line("C", 1)]
    reaches = [reach("d1", 1), reach("d2", 2), reach("d3", 3), reach("d4", 4)]
    free = {
        ("d1", "A"): 1,
        ("d2", "B"): 1,
        ("d2", "C"): 1,
        ("d3", "A"): 1,
        ("d3", "B"): 1,
        ("d4", "C"): 1,
    }
    plan = choose(reaches, lines, 1, free, {})
    # Two shipments suffice: {d1, d2} (3 km) beats {d3, d4} (7 km) and {d2, d3} (5 km).
    assert [(s.depot_id, s.lines) for s in plan.shipments] == [
        ("d1", (Line("A", 1),)),
        ("d2", (Line("B", 1), Line("C", 1))),
    ]
    assert all(s.load == 1 for s in plan.shipments)
    assert choose(reaches, lines, 1, free, {}, split=False).reason == "out_of_stock"


def test_nothing_holds_a_line_is_out_of_stock_and_no_split_past_the_limit() -> None:
    reaches = [reach(f"d{n}", n) for n in range(1, 6)]
    assert choose(reaches, [Line("A", 3)], 1, {("d1", "A"): 2}, {}).reason == "out_of_stock"
    # Each line at another depot: more shipments than allowed.
    lines = [Line(f"S{n}", 1) for n in range(MAX_SHIPMENTS + 1)]
    free = {(f"d{n + 1}", f"S{n}"): 1 for n in range(MAX_SHIPMENTS + 1)}
    assert choose(reaches, lines, 1, free, {}).reason == "out_of_stock"


def test_daily_capacity_in_orders_and_in_parcels() -> None:
    full = reach("full", 1, capacity=10)
    spare = reach("spare", 5, capacity=10)
    lines = [Line("A", 1)]
    free = {("full", "A"): 9, ("spare", "A"): 9}
    plan = choose([full, spare], lines, 1, free, {("full", DAY): 10, ("spare", DAY): 9})
    assert [s.depot_id for s in plan.shipments] == ["spare"]
    assert plan.shipments[0].capacity == 10
    assert choose([full], lines, 1, free, {("full", DAY): 10}).reason == "over_capacity"
    parcels = reach("parcels", 1, capacity=10, capacity_unit="parcels")
    free[("parcels", "A")] = 5
    assert choose([parcels], lines, 3, free, {("parcels", DAY): 8}).reason == "over_capacity"
    plan = choose([parcels], lines, 2, free, {("parcels", DAY): 8})
    assert plan.shipments[0].load == 2


def test_an_order_without_lines_goes_to_the_first_with_room() -> None:
    plan = choose([reach("first", 3)], [], 2, {}, {})
    assert [(s.depot_id, s.lines, s.reserve) for s in plan.shipments] == [("first", (), ())]


def test_lines_of_one_sku_are_merged() -> None:
    assert merge_lines([Line("A", 1), Line("B", 2), Line("A", 3)]) == (Line("A", 4), Line("B", 2))


def test_cutoffs_per_weekday_and_days_without_delivery() -> None:
    depot = Depot(
        "wk",
        "Weekdays",
        51.5,
        -0.12,
        "Europe/London",
        "2030-01-01T00:00:00Z",
        fulfilment={"cutoff": "14:00", "cutoffs": {"sat": "11:00", "sun": None}},
    )
    location = Location.of(depot)
    friday_evening = datetime(2030, 6, 7, 17, 0, tzinfo=UTC)  # Fri 18:00 BST
    assert promised_day(location, friday_evening, None) == date(2030, 6, 8)  # Saturday
    saturday_noon = datetime(2030, 6, 8, 11, 0, tzinfo=UTC)  # Sat 12:00 BST, past 11:00
    # Not Sunday (no deliveries): Monday.
    assert promised_day(location, saturday_noon, None) == date(2030, 6, 10)
    sunday_window = datetime(2030, 6, 9, 10, 0, tzinfo=UTC)
    assert promised_day(location, friday_evening, sunday_window) is None
    never = replace(location, by_weekday=tuple((n, None) for n in range(7)))
    assert promised_day(never, friday_evening, None) is None
