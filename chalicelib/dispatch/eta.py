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
    route: PlannedRoute, stops: list[RouteStop], first: int, lat: float, lng: float, ready: datetime
) -> PlannedRoute:
    """`stops[first:]` re-timed from (lat, lng), free to leave at `ready`; stops no longer
    pending (served out of order, cancelled, dropped) keep their times and are driven past."""
    profile = PROFILES.get(route.profile, PROFILES["van"])
    speed = profile.speed_kmh / 3.6
    for i in range(first, len(stops)):
        stop = stops[i]
        if stop.state != "pending":
            continue
        travel = great_circle_m(lat, lng, stop.lat, stop.lng) * profile.detour_factor / speed
        arrival = ready + timedelta(seconds=travel)
        if stop.earliest:
            arrival = max(arrival, parse_iso(stop.earliest))
        stops[i] = replace(stop, eta=iso_z(arrival))
        lat, lng, ready = stop.lat, stop.lng, arrival + timedelta(seconds=stop.service_s)
    return replace(route, stops=tuple(stops), version=route.version + 1)


def without_stop(route: PlannedRoute, order_id: str) -> PlannedRoute:
    """The route without `order_id`'s stop; the stops after it arrive earlier (never before
    their window opens), those before it keep their ETAs."""
    index = next((i for i, s in enumerate(route.stops) if s.order_id == order_id), None)
    if index is None:
        return route
    stops = list(route.stops)
    del stops[index]
    if index == 0:
        lat, lng, ready = route.depot_lat, route.depot_lng, parse_iso(route.start_at)
    else:
        prev = stops[index - 1]
        lat, lng, ready = (
            prev.lat,
            prev.lng,
            parse_iso(prev.eta) + timedelta(seconds=prev.service_s),
        )
    return _retimed(route, stops, index, lat, lng, ready)


def from_position(route: PlannedRoute, lat: float, lng: float, at: str) -> PlannedRoute:
    """The stops not yet visited, re-timed from where the vehicle is at `at` (a location ping,
    or a stop just served): the live ETAs, late or early."""
    stops = list(route.stops)
    first = next((i for i, s in enumerate(stops) if s.state == "pending"), len(stops))
    return _retimed(route, stops, first, lat, lng, parse_iso(at))


def soonest(route: PlannedRoute, stop: RouteStop, now: datetime) -> datetime:
    """The earliest the vehicle could be at `stop`: straight there from where it was last seen
    (the depot before that), leaving now, or at the route's start when that is later."""
    profile = PROFILES.get(route.profile, PROFILES["van"])
    fix = route.last_fix
    lat, lng = (fix.lat, fix.lng) if fix is not None else (route.depot_lat, route.depot_lng)
    metres = great_circle_m(lat, lng, stop.lat, stop.lng) * profile.detour_factor
    leave = max(now, parse_iso(route.start_at))
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
