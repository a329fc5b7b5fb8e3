"""Re-timing a committed route after a stop leaves it, with the planner's own travel model
(great-circle distance times the profile's detour factor, at the profile's speed)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from chalicelib.domain.dispatch import PlannedRoute, RouteStop
from chalicelib.domain.geo import great_circle_m
from chalicelib.domain.times import iso_z, parse_iso
from chalicelib.routing.model import PROFILES


def _retimed(
    route: PlannedRoute, stops: list[RouteStop], first: int, lat: float, lng: float, ready: datetime
) -> PlannedRoute:
    """`stops[first:]` re-timed from (lat, lng), free to leave at `ready`."""
    profile = PROFILES.get(route.profile, PROFILES["van"])
    speed = profile.speed_kmh / 3.6
    for i in range(first, len(stops)):
        stop = stops[i]
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


def changed_etas(before: PlannedRoute, after: PlannedRoute) -> dict[str, str]:
    """order id -> new ETA for every stop whose ETA moved."""
    old = {s.order_id: s.eta for s in before.stops}
    return {s.order_id: s.eta for s in after.stops if old.get(s.order_id) != s.eta}
