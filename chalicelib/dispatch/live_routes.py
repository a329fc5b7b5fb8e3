"""Routes on the road opened to a run's new orders (the depot's `insert_into_live_routes`).

A parcel cannot join a van away from the depot by itself: a van that takes new orders goes back
to the depot to load them. From where it was last seen, it serves the stops it carries up to
the point where the depot costs the least detour (that prefix kept as it is), loads at the
depot (its reload time, else DEPOT_LOAD_S), then the planner orders the rest of what it carries
(pinned to it by a skill only it has, each within the window its customer was promised, never
left out before a new order) together with whatever new orders it takes, within its shift: a
new trip of the route (the trips of dispatch/eta.py and `departed`). A van that takes no new
order goes on as it was. docs/dispatch.md has the model."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from chalicelib.dispatch.eta import current_trip, from_position, without_stop
from chalicelib.domain.dispatch import (
    DEPOT_LOAD_S,
    DispatchPolicy,
    PlannedRoute,
    RouteStop,
    RouteTrip,
)
from chalicelib.domain.eta_windows import ETA_SPREAD
from chalicelib.domain.geo import great_circle_m
from chalicelib.domain.order import Order
from chalicelib.domain.tenancy import Vehicle
from chalicelib.domain.times import iso_z, parse_iso
from chalicelib.routing import model as rm

LIVE_PREFIX = "live:"  # a live route's van as the planner knows it: live:<route id>
PIN_PREFIX = "route:"  # the skill only that van has, so its carried stops stay on it
CARRIED_PRIORITY = 4  # the planner's highest: new orders are left out before a carried one


@dataclass(frozen=True)
class LiveRoute:
    """A route on the road as a run opened it: its version then, the pending stops kept in
    order before the depot visit (`locked`) and those re-planned after it (`carried`), when the
    van is at the depot and when it leaves it loaded."""

    route_id: str
    version: int
    vehicle_id: str
    locked: tuple[str, ...]
    carried: tuple[str, ...]
    depot_eta: str
    ready_at: str

    @property
    def planner_id(self) -> str:
        return LIVE_PREFIX + self.route_id

    def to_dict(self) -> dict[str, Any]:
        return {
            "route_id": self.route_id,
            "version": self.version,
            "vehicle_id": self.vehicle_id,
            "locked": list(self.locked),
            "carried": list(self.carried),
            "depot_eta": self.depot_eta,
            "ready_at": self.ready_at,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LiveRoute:
        return cls(
            d["route_id"],
            int(d["version"]),
            d["vehicle_id"],
            tuple(d["locked"]),
            tuple(d["carried"]),
            d["depot_eta"],
            d["ready_at"],
        )


def live_route_id(planner_vehicle_id: str) -> str | None:
    """The route a planner's vehicle id stands for, None for a free vehicle."""
    return planner_vehicle_id.removeprefix(LIVE_PREFIX) if _is_live(planner_vehicle_id) else None


def _is_live(vehicle_id: str) -> bool:
    return vehicle_id.startswith(LIVE_PREFIX)


def _travel_s(route: PlannedRoute, lat: float, lng: float, lat2: float, lng2: float) -> float:
    profile = rm.PROFILES.get(route.profile, rm.PROFILES["van"])
    metres = great_circle_m(lat, lng, lat2, lng2) * profile.detour_factor
    return metres / (profile.speed_kmh / 3.6)


def position(route: PlannedRoute, t0: datetime) -> tuple[float, float, datetime]:
    """Where the van was last seen and from when it goes on (a fix, which a served stop also
    leaves; before any, the depot at the route's start), not before `t0`."""
    fix = route.last_fix
    if fix is not None:
        return fix.lat, fix.lng, max(parse_iso(fix.received_at), t0)
    return route.depot_lat, route.depot_lng, max(parse_iso(route.start_at), t0)


def on_the_road(route: PlannedRoute, t0: datetime) -> bool:
    """Out (started, seen or a stop served) with stops still to serve."""
    if not any(s.state == "pending" for s in route.stops):
        return False
    started = parse_iso(route.start_at) <= t0
    return started or route.last_fix is not None or any(s.state == "done" for s in route.stops)


def opening(route: PlannedRoute, t0: datetime) -> LiveRoute | None:
    """The route opened for new orders: the depot visit where it adds the least distance
    between where the van is, the stops it carries and each other. None when the route cannot
    take any (not on the road, a locker or retrieval stop still to serve, or a later trip still
    ahead: a reload planned, or an earlier re-plan's)."""
    if not on_the_road(route, t0):
        return None
    pending = [s for s in route.stops if s.state == "pending"]
    if any(s.trip > current_trip(route) for s in pending):
        return None
    if any(s.kind != "delivery" for s in pending):
        return None  # their locker doors are held for the times planned: kept as they are
    lat, lng, at = position(route, t0)
    dlat, dlng = route.depot_lat, route.depot_lng
    best: tuple[float, int, datetime] | None = None
    for k, nxt in enumerate(pending):
        if k > 0:
            prev = pending[k - 1]
            lat, lng = prev.lat, prev.lng
            at = max(parse_iso(prev.eta) + timedelta(seconds=prev.service_s), t0)
        detour = (
            _travel_s(route, lat, lng, dlat, dlng)
            + _travel_s(route, dlat, dlng, nxt.lat, nxt.lng)
            - _travel_s(route, lat, lng, nxt.lat, nxt.lng)
        )
        if best is None or detour < best[0] - 1e-6:
            best = (detour, k, at + timedelta(seconds=_travel_s(route, lat, lng, dlat, dlng)))
    assert best is not None
    _, k, at_depot = best
    return LiveRoute(
        route_id=route.route_id,
        version=route.version,
        vehicle_id=route.vehicle_id,
        locked=tuple(s.order_id for s in pending[:k]),
        carried=tuple(s.order_id for s in pending[k:]),
        depot_eta=iso_z(at_depot),
        ready_at=iso_z(at_depot + timedelta(seconds=load_s(route))),
    )


def load_s(route: PlannedRoute) -> float:
    """How long the van takes at the depot to load: its reload time, else DEPOT_LOAD_S."""
    return route.reload_s or DEPOT_LOAD_S


def promised(stop: RouteStop, order: Order) -> tuple[datetime, datetime]:
    """The window the carried order was promised: the slot it was booked for, else the ETA
    window its customer was told (the ETA it holds, ETA_SPREAD either side)."""
    if order.delivery.window is not None:
        return parse_iso(order.delivery.window.start), parse_iso(order.delivery.window.end)
    if order.eta_from and order.eta_to:
        return parse_iso(order.eta_from), parse_iso(order.eta_to)
    eta = parse_iso(stop.order_eta)
    return eta - ETA_SPREAD, eta + ETA_SPREAD


def carried_stops(
    route: PlannedRoute, live: LiveRoute, orders: dict[str, Order], t0: datetime
) -> list[rm.Stop] | None:
    """The stops the van carries past its depot visit, pinned to it, each within its promised
    window; None when one of them could not be kept even driven to straight from the depot
    (or its order is gone): then the route stays as it is."""
    stops = {s.order_id: s for s in route.stops}
    ready = parse_iso(live.ready_at)
    found = []
    for order_id in live.carried:
        stop, order = stops[order_id], orders.get(order_id)
        if order is None:
            return None
        start, end = promised(stop, order)
        soonest = ready + timedelta(
            seconds=_travel_s(route, route.depot_lat, route.depot_lng, stop.lat, stop.lng)
        )
        if soonest > end:
            return None
        found.append(
            rm.Stop(
                id=order_id,
                location=rm.Location(stop.lat, stop.lng),
                demand=rm.Load(
                    parcels=len(order.parcels),
                    weight=round(sum(p.weight_kg for p in order.parcels), 3),
                ),
                windows=(
                    rm.TimeWindow(
                        max((start - t0).total_seconds(), 0.0), (end - t0).total_seconds()
                    ),
                ),
                service_base_s=stop.service_s,
                service_per_parcel_s=0.0,
                priority=CARRIED_PRIORITY,
                skills=frozenset({PIN_PREFIX + route.route_id}),
            )
        )
    return found


@dataclass(frozen=True)
class Opened:
    """A live route a run plans: the route as read, how it was opened, the stops it carries on
    past the depot visit."""

    route: PlannedRoute
    live: LiveRoute
    stops: tuple[rm.Stop, ...]


def open_routes(
    committed: list[PlannedRoute], orders: dict[str, Order], t0: datetime
) -> list[Opened]:
    """The committed routes on the road that can take new orders (`orders`: their carried
    orders, as read now)."""
    found = []
    for route in committed:
        live = opening(route, t0)
        if live is None:
            continue
        stops = carried_stops(route, live, orders, t0)
        if stops is not None:
            found.append(Opened(route, live, tuple(stops)))
    return found


def live_vehicle(
    v: Vehicle,
    live: LiveRoute,
    depot_id: str,
    t0: datetime,
    policy: DispatchPolicy,
    breaks: tuple[rm.Break, ...],
) -> rm.Vehicle | None:
    """The van as the planner sees it: at the depot, loaded, from `ready_at` to its shift's
    end, with its own capacity (what it carries on is among its stops) and its skills beside
    the pin; no fixed cost (it is on the road anyway). None when its shift is over by then."""
    start = (parse_iso(live.ready_at) - t0).total_seconds()
    end = (parse_iso(v.shift_end) - t0).total_seconds()
    if end <= start:
        return None
    return rm.Vehicle(
        id=live.planner_id,
        depot_id=depot_id,
        profile=rm.PROFILES[v.profile],
        capacity=rm.Load(parcels=v.capacity_parcels, weight=v.capacity_weight_kg),
        shift=rm.TimeWindow(start, end),
        breaks=breaks,
        skills=frozenset(v.skills) | {PIN_PREFIX + live.route_id},
        fixed_cost=0.0,
        cost_per_km=policy.cost_per_km,
        cost_per_hour=policy.cost_per_hour,
    )


def merged(
    fresh: PlannedRoute, live: LiveRoute, planned: PlannedRoute, inserted: set[str]
) -> PlannedRoute:
    """`fresh` (the route as it is now) with the plan's order after the depot visit, as a new
    trip: the served stops, the ones that left it and the locked prefix unchanged; then the
    plan's stops, a carried one with its own record (a stop served while the run planned stays
    served, on its trip) and the plan's ETA, an `inserted` one as planned."""
    carried = set(live.carried)
    planned_ids = {s.order_id for s in planned.stops}
    head = [s for s in fresh.stops if s.order_id not in planned_ids]
    own = {s.order_id: s for s in fresh.stops}
    trip = max([current_trip(fresh), *(s.trip for s in fresh.stops)]) + 1
    tail: list[RouteStop] = []
    for stop in planned.stops:
        if stop.order_id in carried:
            mine = own.get(stop.order_id)
            if mine is None:
                continue
            if mine.state == "pending":
                mine = replace(mine, eta=stop.eta, told_eta=mine.order_eta, trip=trip)
            tail.append(mine)
        elif stop.order_id in inserted:
            tail.append(replace(stop, trip=trip))
    if not tail:
        return replace(fresh, version=fresh.version + 1)
    last = tail[-1]
    back = parse_iso(last.eta) + timedelta(
        seconds=last.service_s
        + _travel_s(fresh, last.lat, last.lng, fresh.depot_lat, fresh.depot_lng)
    )
    before = [
        replace(t, return_at=live.depot_eta) if t.trip == trip - 1 else t for t in fresh.trip_list()
    ]
    trips = (*before, RouteTrip(trip, live.ready_at, iso_z(back)))
    return replace(
        fresh,
        stops=tuple(head + tail),
        trips=trips,
        reload_s=load_s(fresh),
        version=fresh.version + 1,
    )


def withdrawn(route: PlannedRoute, order_ids: set[str], now: str) -> PlannedRoute:
    """`route` without the stops of `order_ids` (a failed run's insertions) and, before the van
    set off on it, the trip they were to be loaded for: its carried stops back on the trip
    before; the rest re-timed from the van."""
    changed = route
    for order_id in order_ids:
        changed = without_stop(changed, order_id)
    if changed is route:
        return route
    top = max((s.trip for s in changed.stops), default=1)
    if top > 1 and changed.on_trip < top:
        stops = tuple(replace(s, trip=top - 1) if s.trip == top else s for s in changed.stops)
        trips = tuple(t for t in changed.trips if t.trip < top)
        changed = replace(changed, stops=stops, trips=trips if len(trips) > 1 else ())
    lat, lng, at = position(changed, parse_iso(now))
    return from_position(changed, lat, lng, iso_z(at))
