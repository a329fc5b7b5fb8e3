"""From a depot, its fleet, its policy and the claimed orders to the planner's Problem (times in
seconds from the run's start), split by angle around the depot when too large for one solve."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from chalicelib.domain.dispatch import DispatchPolicy
from chalicelib.domain.order import DeliveryType, Order
from chalicelib.domain.tenancy import Depot, Vehicle
from chalicelib.routing import model as rm

# Orders left out before solving, each for a reason the planner cannot see. They stay ready
# for a later run (a window ahead of the horizon comes into it; a passed one needs a person).
WINDOW_PASSED = "window_passed"
AFTER_HORIZON = "after_horizon"
LOCKER_UNKNOWN = "locker_unknown"

PART_MAX_STOPS = 1500  # one optimiser invocation plans this many (partitioning itself inside)
MIN_SHIFT_S = 600  # a shift with less left than this takes no route


@dataclass(frozen=True)
class Built:
    parts: list[rm.Problem]
    left_out: dict[str, str] = field(default_factory=dict)  # order id -> reason


def _seconds(iso: str, t0: datetime) -> float:
    return (datetime.fromisoformat(iso.replace("Z", "+00:00")) - t0).total_seconds()


def _vehicle(v: Vehicle, depot_id: str, t0: datetime, horizon_s: float, policy: DispatchPolicy):
    start = max(0.0, _seconds(v.shift_start, t0))
    end = min(horizon_s, _seconds(v.shift_end, t0))
    if end - start < MIN_SHIFT_S:
        return None
    return rm.Vehicle(
        id=v.vehicle_id,
        depot_id=depot_id,
        profile=rm.PROFILES[v.profile],
        capacity=rm.Load(parcels=v.capacity_parcels, weight=v.capacity_weight_kg),
        shift=rm.TimeWindow(start, end),
        skills=frozenset(v.skills),
        fixed_cost=policy.fixed_cost,
        cost_per_km=policy.cost_per_km,
        cost_per_hour=policy.cost_per_hour,
    )


def _stop(order: Order, t0: datetime, horizon_s: float) -> rm.Stop | str:
    """The order as a stop, or the reason it cannot be one in this run."""
    if order.delivery.type is DeliveryType.LOCKER:
        return LOCKER_UNKNOWN  # lockers join the problem with the lockers room (rm.Locker)
    windows: tuple[rm.TimeWindow, ...] = ()
    if order.delivery.window:
        start = _seconds(order.delivery.window.start, t0)
        end = _seconds(order.delivery.window.end, t0)
        if end <= 0:
            return WINDOW_PASSED
        if start >= horizon_s:
            return AFTER_HORIZON
        windows = (rm.TimeWindow(max(start, 0.0), end),)
    assert order.address.lat is not None and order.address.lng is not None  # ready => located
    return rm.Stop(
        id=order.order_id,
        location=rm.Location(order.address.lat, order.address.lng),
        demand=rm.Load(
            parcels=len(order.parcels), weight=round(sum(p.weight_kg for p in order.parcels), 3)
        ),
        windows=windows,
    )


def build(
    depot: Depot,
    fleet: list[Vehicle],
    orders: list[Order],
    policy: DispatchPolicy,
    t0: datetime,
    part_max: int = PART_MAX_STOPS,
) -> Built:
    horizon_s = policy.horizon_hours * 3600.0
    depot_loc = rm.Depot(depot.depot_id, rm.Location(depot.lat, depot.lng))
    vehicles = [
        built
        for v in fleet
        if (built := _vehicle(v, depot.depot_id, t0, horizon_s, policy)) is not None
    ]
    stops: list[rm.Stop] = []
    left_out: dict[str, str] = {}
    for order in orders:
        stop = _stop(order, t0, horizon_s)
        if isinstance(stop, str):
            left_out[order.order_id] = stop
        else:
            stops.append(stop)
    groups = _sweep(depot_loc.location, stops, math.ceil(len(stops) / part_max) or 1)
    shares = _share_fleet(vehicles, [sum(s.demand.parcels for s in g) for g in groups])
    parts = [
        rm.Problem(depots=(depot_loc,), vehicles=tuple(shares[i]), stops=tuple(group))
        for i, group in enumerate(groups)
    ]
    return Built(parts=parts, left_out=left_out)


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
