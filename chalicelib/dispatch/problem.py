"""From a depot, its fleet, its policy and the claimed orders to the planner's Problem (times in
seconds from the run's start), split by angle around the depot when too large for one solve."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from chalicelib.dispatch.free_time import free_time, owed_breaks
from chalicelib.dispatch.live_routes import LiveRoute, Opened, live_vehicle
from chalicelib.domain.dispatch import (
    PLAN_WRITES,
    TRANSACTION_MAX_ITEMS,
    DispatchPolicy,
    PlannedRoute,
)
from chalicelib.domain.lockers import (
    ALWAYS_OPEN,
    MAX_LOCKER_PARCELS,
    Locker,
    LockerParcel,
    open_periods,
    parcel_sizes,
)
from chalicelib.domain.order import DeliveryType, Order
from chalicelib.domain.tenancy import Depot, Vehicle
from chalicelib.domain.times import parse_iso
from chalicelib.routing import model as rm

# Orders left out before solving, each for a reason the planner cannot see. Some wait for a
# later run (a window ahead of the horizon comes into it), some need a person (NEEDS_A_PERSON).
WINDOW_PASSED = "window_passed"
AFTER_HORIZON = "after_horizon"
LOCKER_UNKNOWN = "locker_unknown"
LOCKER_FULL = rm.REASON_LOCKER_FULL
LOCKER_CLOSED = "locker_closed"  # not open at all within the horizon
# More parcels than one transaction can reserve doors for beside the order's own writes, or
# than a locker's deposit takes (domain/lockers.py): planned, it could never be deposited.
TOO_MANY_PARCELS = "too_many_parcels"
ROUTE_TOO_LONG = "route_too_long"  # its route's item would pass 400 KB: cut at commit
# Every vehicle with shift left is out on routes already committed (or the ones free were too
# few): the order waits for the next run, when they are back.
FLEET_BUSY = "fleet_busy"
# What the planner says of an order it could not fit; when vehicles were held by routes already
# out, the reason the order waits is that the fleet is busy.
FLEET_SHORT = frozenset({rm.REASON_CAPACITY_SHORT, rm.REASON_TIME_SHORT, rm.REASON_OUTSIDE_SHIFT})
LOCKER_MAX_PARCELS = min(MAX_LOCKER_PARCELS, TRANSACTION_MAX_ITEMS - PLAN_WRITES)

# Reasons no later run can change on its own: the time is gone (a passed window, one no
# vehicle reaches in time even alone), the locker is unknown, the order is bigger than every
# vehicle or than a transaction. Such an order leaves the ready set as needs_attention with
# the reason, and the merchant is told (`order.needs_attention`); amending it re-triages it.
# Every other reason waits for the next run: the fleet busy (capacity_short, time_short), a
# locker full or closed, a window after the horizon or outside today's shifts (shifts change),
# the fleet out on earlier routes (fleet_busy).
NEEDS_A_PERSON = frozenset(
    {
        WINDOW_PASSED,
        LOCKER_UNKNOWN,
        TOO_MANY_PARCELS,
        rm.REASON_WINDOW_UNREACHABLE,
        rm.REASON_OVER_CAPACITY,
    }
)


def needs_a_person(reason: str, order: Order) -> bool:
    """Whether no later run can plan the order by itself. Unreachable in time is final only
    for an order with a window: without one, it means today's shifts end too soon."""
    if reason == rm.REASON_WINDOW_UNREACHABLE:
        return order.delivery.window is not None
    return reason in NEEDS_A_PERSON


# Every reason a finished run gives an order back for. Such an order waits for the next run
# but does not start one (a rolling trigger counts the orders no finished run passed over:
# new ones, ones a cap rolled over, ones a failed run released).
PLANNING_REASONS = NEEDS_A_PERSON | {
    AFTER_HORIZON,
    LOCKER_FULL,
    LOCKER_CLOSED,
    ROUTE_TOO_LONG,
    FLEET_BUSY,
    *rm.REASONS,
}

PART_MAX_STOPS = 1500  # one optimiser invocation plans this many (partitioning itself inside)


@dataclass(frozen=True)
class LockerRoom:
    """A locker of the depot and its free compartments by size, as the run found them."""

    locker: Locker
    free: dict[str, int]


@dataclass(frozen=True)
class Built:
    parts: list[rm.Problem]
    left_out: dict[str, str] = field(default_factory=dict)  # order id -> reason
    # Vehicles with shift left in the horizon that routes already committed hold (all of it,
    # or some: then what the planner cannot fit is left out as fleet_busy).
    held: frozenset[str] = frozenset()
    live: tuple[LiveRoute, ...] = ()  # routes on the road this run may insert orders into


def _seconds(iso: str, t0: datetime) -> float:
    return (parse_iso(iso) - t0).total_seconds()


def _vehicle(
    v: Vehicle,
    depot_id: str,
    t0: datetime,
    horizon_s: float,
    policy: DispatchPolicy,
    committed: list[PlannedRoute],
) -> rm.Vehicle | None:
    """The vehicle in the time it is free (free_time.py), None when it has none."""
    free = free_time(v, committed, t0, t0 + timedelta(seconds=horizon_s))
    if free is None:
        return None
    return rm.Vehicle(
        id=v.vehicle_id,
        depot_id=depot_id,
        profile=rm.PROFILES[v.profile],
        capacity=rm.Load(parcels=v.capacity_parcels, weight=v.capacity_weight_kg),
        shift=rm.TimeWindow((free.start - t0).total_seconds(), (free.end - t0).total_seconds()),
        breaks=tuple(
            rm.Break(_seconds(b.earliest, t0), _seconds(b.latest, t0), b.duration_s)
            for b in free.breaks
        ),
        skills=frozenset(v.skills),
        fixed_cost=policy.fixed_cost,
        cost_per_km=policy.cost_per_km,
        cost_per_hour=policy.cost_per_hour,
        max_trips=v.max_trips,
        reload_s=v.reload_s,
    )


def _stop(
    order: Order,
    t0: datetime,
    horizon_s: float,
    lockers: dict[str, LockerRoom],
    zone: tzinfo = UTC,
) -> rm.Stop | str:
    """The order as a stop, or the reason it cannot be one in this run. A locker order's stop
    is at its locker; the planner gives it compartments (rm.Locker) or leaves it out as full."""
    at_locker = None
    if order.delivery.type is DeliveryType.LOCKER:
        at_locker = lockers.get(order.delivery.locker_id or "")
        if at_locker is None:
            return LOCKER_UNKNOWN
        if len(order.parcels) > LOCKER_MAX_PARCELS:
            return TOO_MANY_PARCELS
    windows: tuple[rm.TimeWindow, ...] = ()
    if order.delivery.window:
        start = _seconds(order.delivery.window.start, t0)
        end = _seconds(order.delivery.window.end, t0)
        if end <= 0:
            return WINDOW_PASSED
        if start >= horizon_s:
            return AFTER_HORIZON
        windows = (rm.TimeWindow(max(start, 0.0), end),)
    demand = rm.Load(
        parcels=len(order.parcels), weight=round(sum(p.weight_kg for p in order.parcels), 3)
    )
    if at_locker is not None:
        if not windows and at_locker.locker.opening_hours != ALWAYS_OPEN:
            # The driver can reach the compartments only while the locker is open.
            until = t0 + timedelta(seconds=horizon_s)
            periods = open_periods(at_locker.locker.opening_hours, zone, t0, until)
            if not periods:
                return LOCKER_CLOSED
            windows = tuple(
                rm.TimeWindow((lo - t0).total_seconds(), (hi - t0).total_seconds())
                for lo, hi in periods
            )
        return rm.Stop(
            id=order.order_id,
            location=rm.Location(at_locker.locker.lat, at_locker.locker.lng),
            kind="locker",
            demand=demand,
            windows=windows,
            locker_id=at_locker.locker.locker_id,
            parcel_sizes=tuple(parcel_sizes([p.size for p in order.parcels])),
        )
    assert order.address.lat is not None and order.address.lng is not None  # ready => located
    return rm.Stop(
        id=order.order_id,
        location=rm.Location(order.address.lat, order.address.lng),
        demand=demand,
        windows=windows,
    )


def _retrieval(parcel: LockerParcel, lockers: dict[str, LockerRoom]) -> rm.Stop | str:
    """An expired parcel to take back from its locker to the depot (a pickup)."""
    room = lockers.get(parcel.locker_id)
    if room is None:
        return LOCKER_UNKNOWN
    return rm.Stop(
        id=parcel.order_id,
        location=rm.Location(room.locker.lat, room.locker.lng),
        kind="pickup",
        demand=rm.Load(parcels=len(parcel.compartment_ids), weight=0.0),
        locker_id=parcel.locker_id,
    )


def build(
    depot: Depot,
    fleet: list[Vehicle],
    orders: list[Order],
    policy: DispatchPolicy,
    t0: datetime,
    part_max: int = PART_MAX_STOPS,
    lockers: list[LockerRoom] | None = None,
    retrievals: list[LockerParcel] | None = None,
    committed: list[PlannedRoute] | None = None,
    live: list[Opened] | None = None,
) -> Built:
    """The run's problem(s). Each vehicle is planned only in the time its `committed` routes
    (of earlier runs, not yet back) leave it, or, when it is on a `live` route, as that route
    goes on after a depot visit (live_routes.py). Locker stops of one locker are visited
    together and never get more compartments than are free; expired parcels in lockers are
    pickups to the depot."""
    rooms = {room.locker.locker_id: room for room in lockers or []}
    horizon_s = policy.horizon_hours * 3600.0
    depot_loc = rm.Depot(depot.depot_id, rm.Location(depot.lat, depot.lng))
    vehicles: list[rm.Vehicle] = []
    held: set[str] = set()
    # A live route is planned in the one part there is (its carried stops and its van must
    # meet): a run too big to solve whole leaves the routes on the road as they are.
    size = len(orders) + len(retrievals or []) + sum(len(o.stops) for o in live or [])
    opened = _live_by_vehicle(live or []) if size <= part_max else {}
    stops: list[rm.Stop] = []
    planned_live: list[LiveRoute] = []
    for v in fleet:
        if v.vehicle_id in opened:
            route = opened[v.vehicle_id]
            van = _live_vehicle(v, route, depot.depot_id, t0, policy, committed or [])
            if van is not None:
                vehicles.append(van)
                stops.extend(route.stops)
                planned_live.append(route.live)
                held.add(v.vehicle_id)
                continue  # its time after this route is the next run's
        free = _vehicle(v, depot.depot_id, t0, horizon_s, policy, committed or [])
        whole = _vehicle(v, depot.depot_id, t0, horizon_s, policy, [])
        if whole is not None and (free is None or free.shift != whole.shift):
            held.add(v.vehicle_id)
        if free is not None:
            vehicles.append(free)
    left_out: dict[str, str] = {}
    candidates: list[tuple[str, rm.Stop | str]] = [
        (o.order_id, _stop(o, t0, horizon_s, rooms, ZoneInfo(depot.timezone))) for o in orders
    ] + [(p.order_id, _retrieval(p, rooms)) for p in retrievals or []]
    for stop_id, stop in candidates:
        if isinstance(stop, str):
            left_out[stop_id] = stop
        elif not vehicles and held:
            left_out[stop_id] = FLEET_BUSY  # nothing to solve: every vehicle is out
        else:
            stops.append(stop)
    groups = _sweep(depot_loc.location, stops, math.ceil(len(stops) / part_max) or 1)
    shares = _share_fleet(vehicles, [sum(s.demand.parcels for s in g) for g in groups])
    parts = []
    for i, group in enumerate(groups):
        used = {s.locker_id for s in group if s.kind == "locker"}
        # A locker's stops all fall in one part (same place, same angle) but for a split at
        # its angle: the part that has more of them keeps its free compartments whole.
        part_lockers = tuple(
            rm.Locker(
                id=room.locker.locker_id,
                location=rm.Location(room.locker.lat, room.locker.lng),
                free=dict(room.free) if _owns(group, groups, room.locker.locker_id) else {},
            )
            for room in rooms.values()
            if room.locker.locker_id in used
        )
        parts.append(
            rm.Problem(
                depots=(depot_loc,),
                vehicles=tuple(shares[i]),
                stops=tuple(group),
                lockers=part_lockers,
            )
        )
    return Built(parts=parts, left_out=left_out, held=frozenset(held), live=tuple(planned_live))


def _live_by_vehicle(live: list[Opened]) -> dict[str, Opened]:
    """One live route a vehicle (the one that started last, should two seem on the road)."""
    found: dict[str, Opened] = {}
    for opened in sorted(live, key=lambda o: (o.route.start_at, o.route.route_id)):
        found[opened.route.vehicle_id] = opened
    return found


def _live_vehicle(
    v: Vehicle,
    opened: Opened,
    depot_id: str,
    t0: datetime,
    policy: DispatchPolicy,
    committed: list[PlannedRoute],
) -> rm.Vehicle | None:
    """The van of a live route, with the breaks its driver still owes after the depot."""
    ready = parse_iso(opened.live.ready_at)
    owed = owed_breaks(v, committed, ready, parse_iso(v.shift_end))
    breaks = tuple(
        rm.Break(_seconds(b.earliest, t0), _seconds(b.latest, t0), b.duration_s) for b in owed
    )
    return live_vehicle(v, opened.live, depot_id, t0, policy, breaks)


def _owns(group: list[rm.Stop], groups: list[list[rm.Stop]], locker_id: str) -> bool:
    """Whether `group` is the part holding most of the locker's stops (ties: the first)."""

    def count(g: list[rm.Stop]) -> int:
        return sum(1 for s in g if s.kind == "locker" and s.locker_id == locker_id)

    best = max(range(len(groups)), key=lambda i: (count(groups[i]), -i))
    return groups[best] is group


def _sweep(centre: rm.Location, stops: list[rm.Stop], k: int) -> list[list[rm.Stop]]:
    """k sectors around the depot with equal numbers of stops."""
    if k <= 1:
        return [stops]
    scale = math.cos(math.radians(centre.lat))

    def angle(s: rm.Stop) -> float:
        return math.atan2(s.location.lat - centre.lat, (s.location.lon - centre.lon) * scale)

    ordered = sorted(stops, key=angle)
    size = math.ceil(len(ordered) / k)
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


def _share_fleet(vehicles: list[rm.Vehicle], demand: list[int]) -> list[list[rm.Vehicle]]:
    """Hand vehicles out, biggest first, to the part with the most demand left uncovered."""
    shares: list[list[rm.Vehicle]] = [[] for _ in demand]
    if len(demand) == 1:
        return [list(vehicles)]
    uncovered = [float(d) for d in demand]
    for v in sorted(vehicles, key=lambda v: -v.capacity.parcels):
        i = max(range(len(demand)), key=lambda j: uncovered[j])
        shares[i].append(v)
        uncovered[i] -= v.capacity.parcels
    return shares
