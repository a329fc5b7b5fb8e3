"""Compiles a Problem into routing nodes: lockers merged into one node each (within their
free compartments), pickups paired with a drop node at their depot, matrices per profile."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from chalicelib.routing.errors import InvalidProblem
from chalicelib.routing.model import (
    COMPARTMENT_SIZES,
    REASON_LOCKER_FULL,
    Location,
    Problem,
    Stop,
    TimeWindow,
    Unassigned,
    Vehicle,
)
from chalicelib.routing.travel import (
    EuclideanTravel,
    GreatCircleTravel,
    TravelMatrix,
    worst_slowdown,
)

NUM_DIMS = 3
# Leaving a stop out costs this much (in cost units) times PRIORITY_STEP ** priority, far
# above any route's cost, so stops are dropped only when they cannot all be served, and
# then the lowest priorities first.
DROP_PENALTY = 1e7
PRIORITY_STEP = 10.0
MAX_PRIORITY = 4


@dataclass
class Node:
    kind: str  # "depot", "stop", "locker", "drop"
    location: Location
    stop_ids: list[str] = field(default_factory=list)
    delivery: tuple[float, float, float] = (0.0, 0.0, 0.0)
    pickup: tuple[float, float, float] = (0.0, 0.0, 0.0)
    service_s: float = 0.0
    windows: tuple[TimeWindow, ...] = ()
    skills: frozenset[str] = frozenset()
    priority: int = 0
    value: float | None = None
    pair: int | None = None  # pickup <-> drop node
    depot: int | None = None  # depot index for depots and drops

    @property
    def penalty(self) -> float:
        if self.value is not None:
            return self.value
        return DROP_PENALTY * PRIORITY_STEP ** min(max(self.priority, 0), MAX_PRIORITY)


@dataclass
class Instance:
    problem: Problem
    nodes: list[Node]
    vehicles: list[Vehicle]
    start_node: list[int]
    end_node: list[int]
    slowdown: list[float]  # per vehicle: the factor its travel times are planned with
    profile_key: list[str]  # per vehicle
    distance: dict[str, np.ndarray]  # per profile key, node x node, metres
    duration: dict[str, np.ndarray]  # per profile key, free-flow seconds
    pre_unassigned: list[Unassigned]
    locker_allocation: dict[str, list[str]]
    # Integer engines count time in 1/time_scale s and distance in 1/dist_scale m; Euclidean
    # benchmark units are small, so they get finer ticks.
    time_scale: float = 10.0
    dist_scale: float = 10.0

    @property
    def service_nodes(self) -> list[int]:
        return [i for i, n in enumerate(self.nodes) if n.kind in ("stop", "locker")]

    def travel_time(self, v: int, i: int, j: int) -> float:
        """Planned (worst-slowdown) travel time of vehicle v from node i to node j."""
        return float(self.duration[self.profile_key[v]][i, j]) * self.slowdown[v]

    def capacity(self, v: int) -> tuple[float, float, float]:
        veh = self.vehicles[v]
        return (float(veh.capacity.parcels), veh.weight_capacity, veh.capacity.volume)


def travel_for(problem: Problem) -> TravelMatrix:
    return EuclideanTravel() if problem.travel == "euclidean" else GreatCircleTravel()


def profile_key(vehicle: Vehicle) -> str:
    p = vehicle.profile
    return f"{p.name}:{p.speed_kmh}:{p.detour_factor}"


def _validate(problem: Problem) -> None:
    depot_ids = {d.id for d in problem.depots}
    if not problem.depots:
        raise InvalidProblem("a problem needs at least one depot")
    if len(depot_ids) != len(problem.depots):
        raise InvalidProblem("depot ids must be unique")
    stop_ids = [s.id for s in problem.stops]
    if len(set(stop_ids)) != len(stop_ids):
        raise InvalidProblem("stop ids must be unique")
    locker_ids = {lk.id for lk in problem.lockers}
    for v in problem.vehicles:
        if v.depot_id not in depot_ids or v.end_depot not in depot_ids:
            raise InvalidProblem(f"vehicle {v.id} refers to an unknown depot")
        if v.shift.end < v.shift.start:
            raise InvalidProblem(f"vehicle {v.id} has a shift that ends before it starts")
        for b in v.breaks:
            if b.latest < b.earliest or b.duration < 0:
                raise InvalidProblem(f"vehicle {v.id} has a malformed break")
    for s in problem.stops:
        for w in s.windows:
            if w.end < w.start:
                raise InvalidProblem(f"stop {s.id} has a window that ends before it starts")
        if min(s.demand.as_tuple()) < 0:
            raise InvalidProblem(f"stop {s.id} has a negative demand")
        if s.kind == "locker" and s.locker_id not in locker_ids:
            raise InvalidProblem(f"locker stop {s.id} refers to an unknown locker")
        if s.kind == "pickup" and s.drop_depot_id is not None and s.drop_depot_id not in depot_ids:
            raise InvalidProblem(f"pickup {s.id} refers to an unknown drop depot")
        for size in s.parcel_sizes:
            if size not in COMPARTMENT_SIZES:
                raise InvalidProblem(f"stop {s.id} has an unknown parcel size {size!r}")


def allocate_lockers(problem: Problem) -> tuple[dict[str, list[str]], list[Stop]]:
    """Reserve compartments per locker, highest priority first, each parcel in the
    smallest free compartment it fits. Returns the allocation and the orders that did
    not fit."""
    free = {lk.id: dict(lk.free) for lk in problem.lockers}
    allocation: dict[str, list[str]] = {}
    rejected: list[Stop] = []
    locker_stops = [s for s in problem.stops if s.kind == "locker"]
    order = sorted(range(len(locker_stops)), key=lambda k: (-locker_stops[k].priority, k))
    for k in order:
        stop = locker_stops[k]
        assert stop.locker_id is not None
        sizes = list(stop.parcel_sizes) or ["S"] * max(stop.demand.parcels, 1)
        trial = dict(free[stop.locker_id])
        taken: list[str] = []
        for size in sorted(sizes, key=COMPARTMENT_SIZES.index, reverse=True):
            fits = [
                c for c in COMPARTMENT_SIZES[COMPARTMENT_SIZES.index(size) :] if trial.get(c, 0) > 0
            ]
            if not fits:
                break
            trial[fits[0]] -= 1
            taken.append(fits[0])
        if len(taken) == len(sizes):
            free[stop.locker_id] = trial
            allocation[stop.id] = taken
        else:
            rejected.append(stop)
    return allocation, rejected


def compile_problem(problem: Problem, travel: TravelMatrix | None = None) -> Instance:
    _validate(problem)
    travel = travel or travel_for(problem)
    depot_index = {d.id: i for i, d in enumerate(problem.depots)}
    nodes = [Node("depot", d.location, depot=i) for i, d in enumerate(problem.depots)]
    allocation, rejected = allocate_lockers(problem)
    rejected_ids = {s.id for s in rejected}
    pre = [Unassigned(s.id, REASON_LOCKER_FULL) for s in rejected]

    locker_groups: dict[tuple[str, tuple[TimeWindow, ...]], list[Stop]] = defaultdict(list)
    lockers = {lk.id: lk for lk in problem.lockers}
    for s in problem.stops:
        if s.kind == "locker":
            if s.id not in rejected_ids:
                assert s.locker_id is not None
                locker_groups[(s.locker_id, s.windows)].append(s)
            continue
        node = Node(
            "stop",
            s.location,
            [s.id],
            service_s=s.service_s,
            windows=s.windows,
            skills=s.skills,
            priority=s.priority,
            value=s.value,
        )
        if s.kind == "pickup":
            node.pickup = s.demand.as_tuple()
            nodes.append(node)
            drop_depot = depot_index[s.drop_depot_id or problem.depots[0].id]
            nodes.append(
                Node(
                    "drop",
                    problem.depots[drop_depot].location,
                    [s.id],
                    delivery=s.demand.as_tuple(),
                    pair=len(nodes) - 1,
                    depot=drop_depot,
                )
            )
            node.pair = len(nodes) - 1
        else:
            node.delivery = s.demand.as_tuple()
            nodes.append(node)
    for (locker_id, windows), members in locker_groups.items():
        lk = lockers[locker_id]
        parcels = sum(m.demand.parcels for m in members)
        values = [m.value for m in members]
        nodes.append(
            Node(
                "locker",
                lk.location,
                [m.id for m in members],
                delivery=tuple(
                    sum(m.demand.as_tuple()[k] for m in members) for k in range(NUM_DIMS)
                ),  # type: ignore[arg-type]
                service_s=lk.service_base_s + lk.service_per_parcel_s * parcels,
                windows=windows,
                skills=frozenset().union(*(m.skills for m in members)),
                priority=max(m.priority for m in members),
                value=None if any(x is None for x in values) else sum(x or 0.0 for x in values),
            )
        )

    vehicles = list(problem.vehicles)
    points = [n.location for n in nodes]
    distance: dict[str, np.ndarray] = {}
    duration: dict[str, np.ndarray] = {}
    keys = []
    for v in vehicles:
        key = profile_key(v)
        keys.append(key)
        if key not in distance:
            dist, dur = travel.matrices(points, v.profile)
            distance[key] = np.asarray(dist, dtype=float)
            duration[key] = np.asarray(dur, dtype=float)
    return Instance(
        problem=problem,
        nodes=nodes,
        vehicles=vehicles,
        start_node=[depot_index[v.depot_id] for v in vehicles],
        end_node=[depot_index[v.end_depot] for v in vehicles],
        slowdown=[worst_slowdown(problem.traffic, v.shift.start, v.shift.end) for v in vehicles],
        profile_key=keys,
        distance=distance,
        duration=duration,
        pre_unassigned=pre,
        locker_allocation=allocation,
        time_scale=1000.0 if problem.travel == "euclidean" else 10.0,
        dist_scale=1000.0 if problem.travel == "euclidean" else 10.0,
    )
