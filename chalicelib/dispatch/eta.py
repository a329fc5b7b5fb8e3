"""Re-timing a committed route after a stop leaves it, with the planner's own travel model
(great-circle distance times the profile's detour factor, at the profile's speed), and which of
the new ETAs are worth writing on the orders (the route item holds the live ones)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from chalicelib.domain.dispatch import PlannedRoute, RouteStop
from chalicelib.domain.eta_windows import Told
from chalicelib.domain.geo import great_circle_m
from chalicelib.domain.times import iso_z, parse_iso
from chalicelib.routing.model import PROFILES

# An order item's ETA is rewritten only when the live one moved from it by more than this, or
# by more than a tenth of the time still to go (an ETA five hours out moves by minutes all
# day): what the route item says live, the order says within a few minutes, for one write a
# ping instead of one per stop.
ORDER_ETA_STEP = timedelta(minutes=5)
ORDER_ETA_SHARE = 0.1


def _retimed(
    route: PlannedRoute,
    stops: list[RouteStop],
    first: int,
    lat: float,
    lng: float,
    ready: datetime,
    trip: int = 1,
) -> PlannedRoute:
    """`stops[first:]` re-timed from (lat, lng), free to leave at `ready` on trip `trip`;
    stops no longer pending (served out of order, cancelled, dropped) keep their times and are
    driven past. A stop of a later trip is reached through the depot and a reload there; the
    trips' times move with their stops."""
    profile = PROFILES.get(route.profile, PROFILES["van"])
    speed = profile.speed_kmh / 3.6

    def drive(a: tuple[float, float], b: tuple[float, float]) -> timedelta:
        return timedelta(seconds=great_circle_m(*a, *b) * profile.detour_factor / speed)

    depot = (route.depot_lat, route.depot_lng)
    departs: dict[int, datetime] = {}
    returns: dict[int, datetime] = {}
    for i in range(first, len(stops)):
        stop = stops[i]
        if stop.state != "pending":
            continue
        if stop.trip > trip:
            returns[trip] = ready + drive((lat, lng), depot)
            ready = returns[trip] + timedelta(seconds=route.reload_s)
            lat, lng, trip = depot[0], depot[1], stop.trip
            departs[trip] = ready
        arrival = ready + drive((lat, lng), (stop.lat, stop.lng))
        if stop.earliest:
            arrival = max(arrival, parse_iso(stop.earliest))
        stops[i] = replace(stop, eta=iso_z(arrival))
        lat, lng, ready = stop.lat, stop.lng, arrival + timedelta(seconds=stop.service_s)
    trips = route.trips
    if trips:
        returns.setdefault(trip, ready + drive((lat, lng), depot))
        trips = tuple(
            replace(
                t,
                depart_at=iso_z(departs[t.trip]) if t.trip in departs else t.depart_at,
                return_at=iso_z(returns[t.trip]) if t.trip in returns else t.return_at,
            )
            for t in trips
        )
    return replace(route, stops=tuple(stops), trips=trips, version=route.version + 1)


def current_trip(route: PlannedRoute) -> int:
    """The trip the vehicle is on: the last it departed on, or a later one it served a stop
    of (a driver who reloads without saying so)."""
    served = [s.trip for s in route.stops if s.state == "done"]
    return max([route.on_trip, 1, *served])


def without_stop(route: PlannedRoute, order_id: str) -> PlannedRoute:
    """The route without `order_id`'s stop; the stops after it arrive earlier (never before
    their window opens), those before it keep their ETAs."""
    index = next((i for i, s in enumerate(route.stops) if s.order_id == order_id), None)
    if index is None:
        return route
    stops = list(route.stops)
    gone = stops.pop(index)
    if index == 0 or stops[index - 1].trip < gone.trip:
        # The first stop of its trip: the rest of the trip leaves from the depot.
        leaves = next(
            (t.depart_at for t in route.trip_list() if t.trip == gone.trip), route.start_at
        )
        lat, lng, ready = route.depot_lat, route.depot_lng, parse_iso(leaves)
        trip = gone.trip
    else:
        prev = stops[index - 1]
        lat, lng, ready = (
            prev.lat,
            prev.lng,
            parse_iso(prev.eta) + timedelta(seconds=prev.service_s),
        )
        trip = prev.trip
    return _retimed(route, stops, index, lat, lng, ready, trip)


def from_position(route: PlannedRoute, lat: float, lng: float, at: str) -> PlannedRoute:
    """The stops not yet visited, re-timed from where the vehicle is at `at` (a location ping,
    or a stop just served): the live ETAs, late or early."""
    stops = list(route.stops)
    first = next((i for i, s in enumerate(stops) if s.state == "pending"), len(stops))
    return _retimed(route, stops, first, lat, lng, parse_iso(at), current_trip(route))


def soonest(route: PlannedRoute, stop: RouteStop, now: datetime) -> datetime:
    """The earliest the vehicle could be at `stop`: straight there from where it was last seen
    (the depot before that), leaving now, or at the route's start when that is later; a stop
    of a later trip than the vehicle is on, through the depot and a reload."""
    profile = PROFILES.get(route.profile, PROFILES["van"])
    fix = route.last_fix
    lat, lng = (fix.lat, fix.lng) if fix is not None else (route.depot_lat, route.depot_lng)
    leave = max(now, parse_iso(route.start_at))
    metres = 0.0
    if stop.trip > current_trip(route):
        metres = great_circle_m(lat, lng, route.depot_lat, route.depot_lng) * profile.detour_factor
        lat, lng = route.depot_lat, route.depot_lng
        leave += timedelta(seconds=route.reload_s)
    metres += great_circle_m(lat, lng, stop.lat, stop.lng) * profile.detour_factor
    return leave + timedelta(seconds=metres / (profile.speed_kmh / 3.6))


def told(route: PlannedRoute, stop: RouteStop, now: datetime) -> Told:
    """The stop's live ETA as its order is told it now, with its window."""
    return Told.around(stop.eta, soonest(route, stop, now))


def published(
    before: PlannedRoute,
    after: PlannedRoute,
    now: datetime,
    force: frozenset[str] = frozenset(),
) -> tuple[PlannedRoute, dict[str, Told]]:
    """`after` (a re-timing of `before`) with each pending stop's `told_eta` saying what its
    order item holds, and order id -> what to tell (and write on) the orders: those whose live
    ETA moved from what they hold by more than ORDER_ETA_STEP (or ORDER_ETA_SHARE of the time
    still to go), and those in `force` (their customer is being told this ETA)."""
    held_before = {s.order_id: s.order_eta for s in before.stops}
    writes: dict[str, Told] = {}
    stops = []
    for stop in after.stops:
        if stop.state == "pending":
            live = parse_iso(stop.eta)
            held = parse_iso(held_before.get(stop.order_id, stop.order_eta))
            step = max(ORDER_ETA_STEP, (live - now) * ORDER_ETA_SHARE)
            if stop.order_id in force or abs(live - held) > step:
                writes[stop.order_id] = told(after, stop, now)
                held = live
            stop = replace(stop, told_eta=None if held == live else iso_z(held))
        stops.append(stop)
    return replace(after, stops=tuple(stops)), writes


def changed_etas(before: PlannedRoute, after: PlannedRoute, now: datetime) -> dict[str, Told]:
    """order id -> what to tell for every stop whose ETA moved."""
    old = {s.order_id: s.eta for s in before.stops}
    return {s.order_id: told(after, s, now) for s in after.stops if old.get(s.order_id) != s.eta}
