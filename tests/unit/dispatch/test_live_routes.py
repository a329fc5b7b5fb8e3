"""Live re-optimisation: a route on the road opened to new orders (the van from where it was last
seen, the served prefix left alone, its carried orders pinned to it within their promised
windows, a depot visit to load what it takes), the problem built so and solved, the route's new
stop list merged onto the route as it is now, and the depot visit in its live ETAs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from chalicelib.dispatch.commit import Committer
from chalicelib.dispatch.eta import from_position
from chalicelib.dispatch.live_routes import (
    CARRIED_PRIORITY,
    PIN_PREFIX,
    live_route_id,
    merged,
    open_routes,
    opening,
    withdrawn,
)
from chalicelib.dispatch.planned_routes import planned_routes
from chalicelib.dispatch.problem import FLEET_BUSY, build
from chalicelib.domain.dispatch import DEPOT_LOAD_S, DispatchPolicy, Fix, PlannedRoute, RouteStop
from chalicelib.domain.errors import ConcurrentUpdate
from chalicelib.domain.geo import great_circle_m
from chalicelib.domain.order import Order
from chalicelib.domain.tenancy import Depot, Vehicle
from chalicelib.domain.times import iso_z, parse_iso
from chalicelib.routing.model import PROFILES
from chalicelib.routing.planner import plan
from tests.unit.dispatch.test_problem_and_eta import an_order

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
DEPOT = Depot("dep_1", "Depot", 51.5, -0.1, "Europe/London", "2026-01-01T00:00:00Z")
POLICY = DispatchPolicy(insert_into_live_routes=True, time_limit_s=5)
VAN = PROFILES["van"]


def at(minutes: float) -> str:
    return iso_z(T0 + timedelta(minutes=minutes))


def van(vehicle_id: str = "van-0") -> Vehicle:
    start, end = T0 - timedelta(hours=2), T0 + timedelta(hours=8)
    return Vehicle(vehicle_id, "van", 50, 400.0, start.isoformat(), end.isoformat())


def carried(n: int, lat: float, eta_min: float, state: str = "pending") -> RouteStop:
    return RouteStop(
        f"ord_{n}", "delivery", at(eta_min), lat, -0.1, 90.0, planned_eta=at(eta_min), state=state
    )


def on_the_road(*stops: RouteStop, fix: Fix | None = None) -> PlannedRoute:
    """A route out since an hour ago: its first stop (north of the depot) served."""
    return PlannedRoute(
        "rte_old_000",
        "run_old",
        "dep_1",
        "van-0",
        "van",
        at(-60),
        51.5,
        -0.1,
        8000.0,
        3 * 3600.0,
        stops,
        version=7,
        last_fix=fix,
    )


def road() -> PlannedRoute:
    return on_the_road(
        carried(1, 51.53, -20, state="done"),
        carried(2, 51.54, 10),
        carried(3, 51.51, 40),
        carried(4, 51.505, 60),
        fix=Fix(51.53, -0.1, at(-5), at(-5)),
    )


def orders_of(route: PlannedRoute) -> dict[str, Order]:
    """Orders of the route's stops, told the stop's ETA with the usual hour's window."""
    found = {}
    for n, stop in enumerate(route.stops):
        eta = parse_iso(stop.eta)
        order = replace(
            an_order(n),
            order_id=stop.order_id,
            route_id=route.route_id,
            eta=stop.eta,
            eta_from=iso_z(eta - timedelta(minutes=30)),
            eta_to=iso_z(eta + timedelta(minutes=30)),
        )
        found[stop.order_id] = order
    return found


def test_the_depot_visit_goes_where_it_adds_least_and_the_stops_before_it_stay_as_they_are():
    route = road()
    live = opening(route, T0)
    assert live is not None
    # Heading north from the fix (51.53) to 51.54, then south: the depot (51.50) is next door
    # once the stop at 51.51 is served, and a trip back anywhere before.
    assert live.locked == ("ord_2", "ord_3")
    assert live.carried == ("ord_4",)
    back = great_circle_m(51.51, -0.1, 51.5, -0.1) * VAN.detour_factor / (VAN.speed_kmh / 3.6)
    depot_eta = parse_iso(at(40)) + timedelta(seconds=90 + back)
    assert abs((parse_iso(live.depot_eta) - depot_eta).total_seconds()) <= 1
    assert parse_iso(live.ready_at) - parse_iso(live.depot_eta) == timedelta(seconds=DEPOT_LOAD_S)
    assert live.version == 7


def test_the_van_starts_from_where_it_was_last_seen_when_the_depot_is_best_first():
    # The van is by the depot: back to it first, then everything it carries is re-planned.
    route = on_the_road(
        carried(2, 51.54, 20),
        carried(3, 51.55, 40),
        fix=Fix(51.501, -0.1, at(-1), at(-1)),
    )
    live = opening(route, T0)
    assert live is not None and live.locked == () and live.carried == ("ord_2", "ord_3")
    back = great_circle_m(51.501, -0.1, 51.5, -0.1) * VAN.detour_factor / (VAN.speed_kmh / 3.6)
    assert abs((parse_iso(live.depot_eta) - T0).total_seconds() - back) <= 1


def test_routes_not_on_the_road_or_with_locker_stops_or_a_depot_visit_ahead_are_not_opened():
    later = replace(road(), start_at=at(30), last_fix=None, stops=(carried(2, 51.54, 50),))
    assert opening(later, T0) is None
    finished = on_the_road(carried(1, 51.53, -20, state="done"))
    assert opening(finished, T0) is None
    at_locker = on_the_road(carried(2, 51.54, 10), replace(carried(3, 51.51, 40), kind="locker"))
    assert opening(at_locker, T0) is None
    # A later trip still ahead (a reload planned, or an earlier re-plan's): left as it is.
    reloading = on_the_road(carried(2, 51.54, 10), replace(carried(3, 51.51, 40), trip=2))
    assert opening(reloading, T0) is None


def test_a_route_whose_carried_promise_cannot_be_kept_after_the_depot_stays_as_it_is():
    route = road()
    orders = orders_of(route)
    # ord_4 was promised 10:00-10:30: after the depot and loading it cannot be reached by then.
    orders["ord_4"] = replace(orders["ord_4"], eta_from=at(0), eta_to=at(30))
    assert open_routes([route], orders, T0) == []
    assert len(open_routes([route], orders_of(route), T0)) == 1


def test_the_problem_has_the_van_at_the_depot_loaded_with_its_carried_stops_pinned():
    route = road()
    opened = open_routes([route], orders_of(route), T0)
    urgent = an_order(9)
    built = build(
        DEPOT, [van(), van("van-1")], [urgent], POLICY, T0, committed=[route], live=opened
    )
    (part,) = built.parts
    vehicles = {v.id: v for v in part.vehicles}
    # van-0 is only the live route's van (its time after the route is the next run's).
    assert set(vehicles) == {"live:rte_old_000", "van-1"}
    live_van = vehicles["live:rte_old_000"]
    ready = (parse_iso(opened[0].live.ready_at) - T0).total_seconds()
    assert live_van.shift.start == ready
    assert live_van.depot_id == "dep_1" and live_van.fixed_cost == 0.0
    assert PIN_PREFIX + "rte_old_000" in live_van.skills
    stops = {s.id: s for s in part.stops}
    assert set(stops) == {"ord_4", urgent.order_id}  # the served and locked stops are not in it
    kept = stops["ord_4"]
    assert kept.skills == {PIN_PREFIX + "rte_old_000"}
    assert kept.priority == CARRIED_PRIORITY
    (promise,) = kept.windows
    assert promise.end == (parse_iso(at(90)) - T0).total_seconds()  # ETA 10:60 + 30 min
    assert kept.demand.parcels == 2 and kept.service_s == 90.0
    assert not stops[urgent.order_id].skills
    assert built.live == (opened[0].live,)
    assert live_route_id(live_van.id) == "rte_old_000"
    assert live_route_id("van-1") is None


def test_solved_the_carried_stop_stays_on_its_van_within_its_promise_and_the_new_one_joins():
    route = road()
    opened = open_routes([route], orders_of(route), T0)
    urgent = an_order(1, lat=51.505)  # next door to ord_4
    built = build(DEPOT, [van()], [urgent], POLICY, T0, committed=[route], live=opened)
    (part,) = built.parts
    solved = plan(part, time_limit_s=3, workers=1)
    assert not solved.unassigned
    (planned,) = planned_routes(solved, part, "dep_1", "run_new", 0, T0)
    assert planned.vehicle_id == "live:rte_old_000"
    assert {s.order_id for s in planned.stops} == {"ord_4", urgent.order_id}
    ord_4 = next(s for s in planned.stops if s.order_id == "ord_4")
    assert parse_iso(ord_4.eta) <= parse_iso(at(90))
    assert min(parse_iso(s.eta) for s in planned.stops) >= parse_iso(opened[0].live.ready_at)


def test_merged_keeps_the_served_and_locked_stops_and_a_stop_served_meanwhile():
    route = road()
    live = opening(route, T0)
    assert live is not None
    planned = replace(
        route,
        stops=(
            RouteStop("ord_new", "delivery", at(75), 51.506, -0.1, 75.0, planned_eta=at(75)),
            replace(carried(4, 51.505, 85)),
        ),
    )
    # While the run planned, the driver served ord_2 (version 8 now).
    fresh = replace(
        route,
        version=8,
        on_trip=1,
        stops=(route.stops[0], replace(route.stops[1], state="done"), *route.stops[2:]),
    )
    after = merged(fresh, live, planned, {"ord_new"})
    assert [s.order_id for s in after.stops] == ["ord_1", "ord_2", "ord_3", "ord_new", "ord_4"]
    assert after.stops[:3] == fresh.stops[:3]  # served, served meanwhile, locked: untouched
    # After the depot visit: a second trip, leaving the depot loaded.
    assert [s.trip for s in after.stops] == [1, 1, 1, 2, 2]
    assert [(t.trip, t.depart_at) for t in after.trips] == [(1, route.start_at), (2, live.ready_at)]
    assert after.trips[0].return_at == live.depot_eta
    assert after.reload_s == DEPOT_LOAD_S
    assert after.stops[4].eta == at(85) and after.stops[4].told_eta == at(60)
    assert after.stops[4].planned_eta == at(60)  # the promise it is measured against stays
    assert after.version == 9
    # An inserted order that changed since the claim is not put on the route.
    assert [s.order_id for s in merged(fresh, live, planned, set()).stops][-1] == "ord_4"


def test_live_etas_drive_through_the_depot_to_the_new_trip():
    route = road()
    live = opening(route, T0)
    assert live is not None
    planned = replace(
        route,
        stops=(
            RouteStop("ord_new", "delivery", at(75), 51.506, -0.1, 75.0, planned_eta=at(75)),
            carried(4, 51.505, 85),
        ),
    )
    after = merged(replace(route, on_trip=1), live, planned, {"ord_new"})
    # A ping by ord_3 (51.51): to it, to the depot, the reload, then the new order.
    retimed = from_position(after, 51.51, -0.1, at(0)).stops
    speed = VAN.speed_kmh / 3.6

    def leg(a: float, b: float) -> float:
        return great_circle_m(a, -0.1, b, -0.1) * VAN.detour_factor / speed

    assert [s.order_id for s in retimed] == ["ord_1", "ord_2", "ord_3", "ord_new", "ord_4"]
    three = parse_iso(retimed[2].eta)
    new = three + timedelta(seconds=90 + leg(51.51, 51.5) + DEPOT_LOAD_S + leg(51.5, 51.506))
    assert abs((parse_iso(retimed[3].eta) - new).total_seconds()) <= 1


def test_withdrawn_takes_a_failed_runs_stops_and_their_trip_off():
    route = road()
    live = opening(route, T0)
    assert live is not None
    planned = replace(
        route,
        stops=(
            RouteStop("ord_new", "delivery", at(75), 51.506, -0.1, 75.0, planned_eta=at(75)),
            carried(4, 51.505, 85),
        ),
    )
    after = merged(replace(route, on_trip=1), live, planned, {"ord_new"})
    back = withdrawn(after, {"ord_new"}, at(0))
    assert [s.order_id for s in back.stops] == ["ord_1", "ord_2", "ord_3", "ord_4"]
    assert {s.trip for s in back.stops} == {1} and back.trips == ()
    assert withdrawn(after, {"ord_other"}, at(0)) is after


class RouteStore:
    """A stateful stand-in for the dispatch repository's route and order writes: the route
    item under a version, a driver's event landing once between a read and the write, the
    orders planned and the ETAs told (by message key)."""

    def __init__(self, route: PlannedRoute, served_meanwhile: str | None = None) -> None:
        self.route = route
        self.served_meanwhile = served_meanwhile
        self.planned: list[str] = []
        self.told: dict[tuple[str, str], str] = {}
        self.writes = 0

    def get_route(self, route_id: str) -> PlannedRoute | None:
        return self.route if route_id == self.route.route_id else None

    def plan_order(self, order: Order, run_id: str, route_id: str, told, at: str) -> str:
        if order.order_id in self.planned:
            return "already"
        self.planned.append(order.order_id)
        return "planned"

    def replace_route(self, route: PlannedRoute, expected_version: int) -> None:
        if self.served_meanwhile is not None:
            # The driver's event won the race: the stop is served, the version moved on.
            stops = tuple(
                replace(s, state="done") if s.order_id == self.served_meanwhile else s
                for s in self.route.stops
            )
            self.route = replace(self.route, stops=stops, version=self.route.version + 1)
            self.served_meanwhile = None
        if expected_version != self.route.version:
            raise ConcurrentUpdate("route changed meanwhile")
        self.writes += 1
        self.route = route

    def tell_retimed(self, order_id, route_id, told, at, *, key, step) -> bool:
        self.told.setdefault((order_id, key), told.eta)
        return True


def test_commit_merges_onto_a_route_a_driver_changed_meanwhile_and_tells_each_once():
    route = road()
    live = opening(route, T0)
    assert live is not None
    urgent = replace(an_order(9), order_id="ord_new")
    planned = replace(
        route,
        stops=(
            RouteStop("ord_new", "delivery", at(75), 51.506, -0.1, 75.0, planned_eta=at(75)),
            carried(4, 51.505, 85),
        ),
    )
    store = RouteStore(replace(route, on_trip=1), served_meanwhile="ord_2")
    committer = Committer(store, None, lambda: 0)  # type: ignore[arg-type]
    outcome = {"planned": 0, "already": 0, "changed": 0}

    def insert() -> int:
        left: dict[str, str] = {}
        return committer._insert(
            live, planned, {"ord_new": urgent}, "run_new", T0, at(0), left, outcome
        )

    assert insert() == 1
    after = store.route
    assert [s.order_id for s in after.stops] == ["ord_1", "ord_2", "ord_3", "ord_new", "ord_4"]
    assert after.stops[1].state == "done"  # the driver's event is not lost
    assert after.version == route.version + 2 and store.writes == 1
    assert [s.trip for s in after.stops] == [1, 1, 1, 2, 2]
    assert set(store.told) == {("ord_4", "new")}
    # The commit retried: nothing written or planned twice, nobody told twice.
    assert insert() == 1
    assert store.writes == 1 and store.planned == ["ord_new"] and outcome["already"] == 1
    assert set(store.told) == {("ord_4", "new")}


def test_a_plan_that_lost_a_carried_stop_leaves_the_route_as_it_was():
    route = road()
    live = opening(route, T0)
    assert live is not None
    planned = replace(
        route,
        stops=(RouteStop("ord_new", "delivery", at(75), 51.506, -0.1, 75.0),),
    )
    store = RouteStore(route)
    committer = Committer(store, None, lambda: 0)  # type: ignore[arg-type]
    left: dict[str, str] = {}
    urgent = replace(an_order(9), order_id="ord_new")
    outcome = {"planned": 0}
    assert committer._insert(live, planned, {"ord_new": urgent}, "r", T0, at(0), left, outcome) == 0
    assert store.route is route and store.planned == [] and left == {"ord_new": FLEET_BUSY}
