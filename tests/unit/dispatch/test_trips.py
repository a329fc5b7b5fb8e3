"""Routes of several trips in dispatch: the problem carries a vehicle's trips and reload time,
a plan with reloads becomes one route whose stops know their trip, live ETAs go through the
depot and the reload, a `departed` starts one trip, and the vehicle is busy for the whole."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from chalicelib.dispatch.eta import current_trip, from_position, without_stop
from chalicelib.dispatch.free_time import busy
from chalicelib.dispatch.planned_routes import planned_routes
from chalicelib.dispatch.problem import build
from chalicelib.domain.dispatch import DispatchPolicy, PlannedRoute, RouteStop, RouteTrip
from chalicelib.domain.tenancy import Vehicle
from chalicelib.domain.times import iso_z, parse_iso
from chalicelib.routing.model import Load, Location, Plan, PlannedReload, Route, Visit
from chalicelib.tracking.route_events import departing_trip
from tests.unit.dispatch.test_problem_and_eta import DEPOT, T0, an_order, van


def a_bike(**overrides) -> Vehicle:
    bike = Vehicle(
        "bike-1",
        "cargo_bike",
        4,
        100.0,
        T0.isoformat(),
        (T0 + timedelta(hours=8)).isoformat(),
        max_trips=3,
        reload_s=900.0,
    )
    return replace(bike, **overrides)


def test_the_problem_carries_each_vehicles_trips_and_reload_time() -> None:
    built = build(DEPOT, [a_bike(), van("van-1", 0, 8)], [an_order(1)], DispatchPolicy(), T0)
    [part] = built.parts
    vehicles = {v.id: v for v in part.vehicles}
    assert (vehicles["bike-1"].max_trips, vehicles["bike-1"].reload_s) == (3, 900.0)
    assert vehicles["van-1"].max_trips == 1


def _visit(stop_id: str, start: float) -> Visit:
    return Visit("delivery", [stop_id], start, start, start + 60.0, Load(), Location(51.51, -0.1))


def test_a_plan_with_a_reload_is_one_route_whose_stops_know_their_trip() -> None:
    orders = [an_order(n) for n in range(3)]
    built = build(DEPOT, [a_bike()], orders, DispatchPolicy(), T0)
    [problem] = built.parts
    ids = [o.order_id for o in orders]
    route = Route(
        "bike-1",
        0.0,
        5000.0,
        9000.0,
        5000.0,
        Load(parcels=2),
        [_visit(ids[0], 600.0), _visit(ids[1], 900.0), _visit(ids[2], 3600.0)],
        reloads=[PlannedReload(1, 1800.0, 2700.0, Load(parcels=1))],
    )
    plan = Plan([route], [], 1.0, 9000.0, "pyvrp")

    [committed] = planned_routes(plan, problem, DEPOT.depot_id, "run_1", 0, T0)

    assert [s.trip for s in committed.stops] == [1, 1, 2]
    assert committed.trips == (
        RouteTrip(1, iso_z(T0), iso_z(T0 + timedelta(seconds=1800))),
        RouteTrip(2, iso_z(T0 + timedelta(seconds=2700)), iso_z(T0 + timedelta(seconds=5000))),
    )
    assert committed.reload_s == 900.0
    single = replace(route, reloads=[])
    [one] = planned_routes(Plan([single], [], 1.0, 9000.0, "pyvrp"), problem, "d", "r", 0, T0)
    assert one.trips == () and [s.trip for s in one.stops] == [1, 1, 1]
    assert one.trip_list() == (RouteTrip(1, iso_z(T0), iso_z(T0 + timedelta(seconds=5000))),)


def _two_trips() -> PlannedRoute:
    def stop(order_id: str, minute: int, lat: float, trip: int) -> RouteStop:
        eta = iso_z(T0 + timedelta(minutes=minute))
        return RouteStop(order_id, "delivery", eta, lat, -0.1, 60.0, planned_eta=eta, trip=trip)

    return PlannedRoute(
        "rte_1_000", "run_1", "dep_1", "bike-1", "cargo_bike", iso_z(T0), 51.5, -0.1,
        8000.0, 7200.0,
        (stop("a", 10, 51.51, 1), stop("b", 20, 51.52, 1), stop("c", 70, 51.53, 2)),
        trips=(
            RouteTrip(1, iso_z(T0), iso_z(T0 + timedelta(minutes=35))),
            RouteTrip(2, iso_z(T0 + timedelta(minutes=50)), iso_z(T0 + timedelta(minutes=120))),
        ),
        reload_s=900.0,
    )  # fmt: skip


def _drive_s(lat_from: float, lat_to: float) -> float:
    # cargo bike: 15 km/h, detour 1.25; one degree of latitude is about 111.2 km
    return abs(lat_to - lat_from) * 111_195.0 * 1.25 / (15 / 3.6)


def test_a_later_trips_stop_is_reached_through_the_depot_and_the_reload() -> None:
    route = _two_trips()
    at = T0 + timedelta(minutes=5)
    moved = from_position(route, 51.505, -0.1, iso_z(at))
    _, b, c = (parse_iso(s.eta) for s in moved.stops)
    back = b + timedelta(seconds=60 + _drive_s(51.52, 51.5))
    assert abs((parse_iso(moved.trips[0].return_at) - back).total_seconds()) <= 2
    leaves = parse_iso(moved.trips[1].depart_at)
    assert abs((leaves - back).total_seconds() - 900) <= 2, "the reload time is counted"
    assert abs((c - leaves).total_seconds() - _drive_s(51.5, 51.53)) <= 2
    # The bike is busy until the last trip is back, not the first.
    _, until = busy(moved)
    assert until >= c + timedelta(seconds=60 + _drive_s(51.53, 51.5) - 2)


def test_departed_starts_the_next_trip_with_stops_left() -> None:
    route = _two_trips()
    assert departing_trip(route) == 1 and current_trip(route) == 1
    on_first = replace(route, on_trip=1)
    assert departing_trip(on_first) == 1, "said again before the first door: still trip 1"
    one_served = replace(on_first, stops=(replace(route.stops[0], state="done"), *route.stops[1:]))
    assert departing_trip(one_served) == 2, "back from trip 1 (b skipped): trip 2 leaves"
    served = replace(
        on_first, stops=tuple(replace(s, state="done") if s.trip == 1 else s for s in route.stops)
    )
    assert current_trip(served) == 1
    assert departing_trip(replace(served, on_trip=1)) == 2
    # A driver who reloaded and served a trip-2 stop without saying so is on trip 2.
    ahead = replace(served, stops=(*served.stops[:2], replace(served.stops[2], state="done")))
    assert current_trip(ahead) == 2


def test_a_trip_whose_first_stop_leaves_still_starts_from_the_depot() -> None:
    route = _two_trips()
    after = without_stop(route, "c")
    assert [s.order_id for s in after.stops] == ["a", "b"]
    extra = replace(
        route,
        stops=(*route.stops, replace(route.stops[2], order_id="d", lat=51.54)),
    )
    moved = without_stop(extra, "c")
    d = parse_iso(moved.stops[2].eta)
    leaves = parse_iso(route.trips[1].depart_at)
    assert abs((d - leaves).total_seconds() - _drive_s(51.5, 51.54)) <= 2


def test_the_store_keeps_no_trip_fields_for_a_single_trip_route() -> None:
    from chalicelib.store.dispatch import route_from_model, route_to_model

    route = _two_trips()
    again = route_from_model(route_to_model(route))
    assert again.trips == route.trips and again.reload_s == 900.0
    assert [s.trip for s in again.stops] == [1, 1, 2]
    single = replace(route, trips=(), reload_s=0.0, stops=route.stops[:2])
    item = route_to_model(single)
    assert item.trips is None and item.reload_s is None
    assert all(s.trip is None for s in item.stops)
    assert [s.trip for s in route_from_model(item).stops] == [1, 1]


def test_a_fleet_round_trips_max_trips_through_its_api_model() -> None:
    from chalicelib.api.admin import VehicleIn

    body = {
        "vehicle_id": "bike-1",
        "profile": "cargo_bike",
        "capacity": {"parcels": 20, "weight_kg": 120},
        "shift": {"start": "2030-06-03T08:00:00+01:00", "end": "2030-06-03T14:00:00+01:00"},
        "max_trips": 3,
        "reload_minutes": 12,
    }
    v = VehicleIn.model_validate(body).to_vehicle()
    assert (v.max_trips, v.reload_s) == (3, 720.0)
    plain = VehicleIn.model_validate({k: body[k] for k in body if k not in ("max_trips",)})
    assert plain.to_vehicle().max_trips == 1
