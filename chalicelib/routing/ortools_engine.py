"""The OR-Tools model: every constraint of the planner (multi-dimensional capacity with
pickups, several windows, shifts, breaks, skills, max duration and distance, several depots,
priorities as drop penalties) on integer ticks, times rounded up so plans stay feasible."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from chalicelib.routing.errors import SolverError
from chalicelib.routing.instance import NUM_DIMS, Instance
from chalicelib.routing.solution import EngineResult, EngineRoute

COST_SCALE = 1e5  # integer cost ticks per cost unit
DIM_SCALE = (1.0, 1000.0, 1000.0)  # parcels, grams, millilitres
BIG = 2**50


@dataclass(frozen=True)
class OrToolsConfig:
    first_solution: str = "PARALLEL_CHEAPEST_INSERTION"
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    solution_limit: int | None = None  # a work limit, for runs that must be reproducible
    log: bool = False


def _ceil(x: np.ndarray) -> np.ndarray:
    # Rounding up (minus float noise) keeps the integer plan feasible in exact time.
    return np.ceil(x - 1e-9).astype(np.int64)


def solve_ortools(
    inst: Instance,
    nodes: list[int],
    allowed: dict[int, list[int]],
    *,
    deadline: float,
    config: OrToolsConfig | None = None,
    hint: list[EngineRoute] | None = None,
) -> EngineResult:
    """Solve over the given service nodes (drops of pickups are added) until `deadline`
    (time.monotonic()). `allowed` lists the vehicles able to serve each node alone."""
    config = config or OrToolsConfig()
    ts, ds = inst.time_scale, inst.dist_scale
    # Only depots that vehicles start or end at: another depot would be a node to visit.
    terminals = set(inst.start_node) | set(inst.end_node)
    depots = [i for i, n in enumerate(inst.nodes) if n.kind == "depot" and i in terminals]
    members = list(depots)
    for i in nodes:
        members.append(i)
        pair = inst.nodes[i].pair
        if pair is not None:
            members.append(pair)
    local = {g: k for k, g in enumerate(members)}
    nv = len(inst.vehicles)
    manager = pywrapcp.RoutingIndexManager(
        len(members),
        nv,
        [local[s] for s in inst.start_node],
        [local[e] for e in inst.end_node],
    )
    routing = pywrapcp.RoutingModel(manager)
    solver = routing.solver()
    # RegisterTransitMatrix and RegisterUnaryTransitVector are indexed by manager node.
    order = np.array(members)
    service = np.array([inst.nodes[g].service_s for g in order])
    service_ticks = _ceil(service * ts)

    # Arc costs per (profile, per-km) class; time transits per (profile, slowdown) class.
    cost_cb: dict[tuple[str, float], int] = {}
    time_cb: dict[tuple[str, float], int] = {}
    dist_cb: dict[str, int] = {}
    time_cb_of: list[int] = []
    dist_cb_of: list[int] = []
    for v, veh in enumerate(inst.vehicles):
        key = inst.profile_key[v]
        sub_d = inst.distance[key][np.ix_(order, order)]
        ck = (key, veh.cost_per_km)
        if ck not in cost_cb:
            cost = np.rint(sub_d * veh.cost_per_km / 1000.0 * COST_SCALE).astype(np.int64)
            cost_cb[ck] = routing.RegisterTransitMatrix(cost.tolist())
        routing.SetArcCostEvaluatorOfVehicle(cost_cb[ck], v)
        tk = (key, inst.slowdown[v])
        if tk not in time_cb:
            sub_t = inst.duration[key][np.ix_(order, order)] * inst.slowdown[v]
            transit = _ceil(sub_t * ts) + service_ticks[:, None]
            time_cb[tk] = routing.RegisterTransitMatrix(transit.tolist())
        time_cb_of.append(time_cb[tk])
        if key not in dist_cb:
            dist_cb[key] = routing.RegisterTransitMatrix(_ceil(sub_d * ds).tolist())
        dist_cb_of.append(dist_cb[key])
        if veh.fixed_cost:
            routing.SetFixedCostOfVehicle(round(veh.fixed_cost * COST_SCALE), v)

    horizon = math.ceil(max(veh.shift.end for veh in inst.vehicles) * ts) + 1
    routing.AddDimensionWithVehicleTransitAndCapacity(
        time_cb_of, horizon, [horizon] * nv, False, "time"
    )
    time_dim = routing.GetDimensionOrDie("time")
    for v, veh in enumerate(inst.vehicles):
        lo = math.ceil(veh.shift.start * ts - 1e-9)
        hi = math.floor(veh.shift.end * ts + 1e-9)
        time_dim.CumulVar(routing.Start(v)).SetRange(lo, hi)
        time_dim.CumulVar(routing.End(v)).SetRange(lo, hi)
        if veh.max_duration_s is not None:
            time_dim.SetSpanUpperBoundForVehicle(math.floor(veh.max_duration_s * ts), v)
        if veh.cost_per_hour:
            coef = round(veh.cost_per_hour / 3600.0 / ts * COST_SCALE)
            time_dim.SetSpanCostCoefficientForVehicle(max(coef, 1), v)
    for g in members:
        node = inst.nodes[g]
        if node.kind == "depot" or not node.windows:
            continue
        var = time_dim.CumulVar(manager.NodeToIndex(local[g]))
        spans = sorted(
            (math.ceil(w.start * ts - 1e-9), math.floor(w.end * ts + 1e-9)) for w in node.windows
        )
        var.SetRange(spans[0][0], max(b for _, b in spans))
        reach = spans[0][1]
        for a, b in spans[1:]:
            if a > reach + 1:
                var.RemoveInterval(reach + 1, a - 1)
            reach = max(reach, b)

    break_vars: dict[int, list[pywrapcp.IntervalVar]] = {}
    visit_ticks = [int(service_ticks[manager.IndexToNode(r)]) for r in range(routing.Size())]
    for v, veh in enumerate(inst.vehicles):
        if not veh.breaks:
            continue
        intervals = [
            solver.FixedDurationIntervalVar(
                math.ceil(b.earliest * ts),
                math.floor(b.latest * ts),
                math.ceil(b.duration * ts),
                False,
                f"break_{v}_{k}",
            )
            for k, b in enumerate(veh.breaks)
        ]
        break_vars[v] = intervals
        time_dim.SetBreakIntervalsOfVehicle(intervals, v, visit_ticks)

    limits = [veh.distance_limit for veh in inst.vehicles]
    if any(x is not None for x in limits):
        caps = [BIG if x is None else math.floor(x * ds) for x in limits]
        routing.AddDimensionWithVehicleTransitAndCapacity(dist_cb_of, 0, caps, True, "distance")

    has_pickups = any(inst.nodes[g].kind == "drop" for g in members)
    for k in range(NUM_DIMS):
        delivery = np.array([inst.nodes[g].delivery[k] for g in members])
        pickup = np.array([inst.nodes[g].pickup[k] for g in members])
        if not delivery.any() and not pickup.any():
            continue
        scale = DIM_SCALE[k]
        caps = [math.floor(inst.capacity(v)[k] * scale + 1e-9) for v in range(nv)]
        if has_pickups:
            demand = _ceil(pickup * scale) - _ceil(delivery * scale)
        else:
            demand = _ceil(delivery * scale)
        cb = routing.RegisterUnaryTransitVector(demand.tolist())
        routing.AddDimensionWithVehicleCapacity(cb, 0, caps, not has_pickups, f"load{k}")

    for g in members:
        node = inst.nodes[g]
        if node.kind == "depot":
            continue
        index = manager.NodeToIndex(local[g])
        if node.kind == "drop":
            routing.AddDisjunction([index], 0)
            continue
        routing.AddDisjunction([index], round(node.penalty * COST_SCALE))
        vehicles = allowed.get(g, [])
        if len(vehicles) < nv:
            # SetAllowedVehiclesForIndex's binding rejects every list in 9.15; -1 keeps the
            # node droppable.
            routing.VehicleVar(index).SetValues([-1, *vehicles])
        if node.pair is not None:
            drop = manager.NodeToIndex(local[node.pair])
            routing.AddPickupAndDelivery(index, drop)
            solver.Add(routing.VehicleVar(index) == routing.VehicleVar(drop))
            solver.Add(time_dim.CumulVar(index) <= time_dim.CumulVar(drop))
            if len(vehicles) < nv:
                routing.VehicleVar(drop).SetValues([-1, *vehicles])
    for v in range(nv):
        routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(routing.End(v)))
        routing.AddVariableMaximizedByFinalizer(time_dim.CumulVar(routing.Start(v)))

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = getattr(
        routing_enums_pb2.FirstSolutionStrategy, config.first_solution
    )
    params.local_search_metaheuristic = getattr(
        routing_enums_pb2.LocalSearchMetaheuristic, config.metaheuristic
    )
    remaining = max(deadline - time.monotonic(), 0.05)
    params.time_limit.FromMilliseconds(int(remaining * 1000))
    if config.solution_limit is not None:
        params.solution_limit = config.solution_limit
    params.log_search = config.log

    started = time.monotonic()
    if hint:
        routes: list[list[int]] = [[] for _ in range(nv)]
        for r in hint:
            routes[r.vehicle] = [local[g] for g in r.nodes if g in local]
        routing.CloseModelWithParameters(params)
        initial = routing.ReadAssignmentFromRoutes(routes, True)
        if initial is None:
            assignment = routing.SolveWithParameters(params)
        else:
            assignment = routing.SolveFromAssignmentWithParameters(initial, params)
    else:
        assignment = routing.SolveWithParameters(params)
    if assignment is None:
        raise SolverError(f"OR-Tools found no assignment (status {routing.status()})")

    result_routes: list[EngineRoute] = []
    break_starts: dict[int, list[int]] = {}
    if break_vars:
        container = assignment.IntervalVarContainer()
        by_name = {}
        for k in range(container.Size()):
            element = container.Element(k)
            by_name[element.Var().Name()] = element.StartValue()
        for v, intervals in break_vars.items():
            break_starts[v] = [by_name.get(iv.Name(), 0) for iv in intervals]
    for v in range(nv):
        index = assignment.Value(routing.NextVar(routing.Start(v)))
        seq: list[int] = []
        ends: list[int] = []
        while not routing.IsEnd(index):
            g = members[manager.IndexToNode(index)]
            seq.append(g)
            ends.append(
                assignment.Value(time_dim.CumulVar(index))
                + int(service_ticks[manager.IndexToNode(index)])
            )
            index = assignment.Value(routing.NextVar(index))
        if not seq:
            continue
        start_t = assignment.Value(time_dim.CumulVar(routing.Start(v)))
        end_t = assignment.Value(time_dim.CumulVar(routing.End(v)))
        gaps = None
        if v in break_starts:
            durations = [iv.DurationMin() for iv in break_vars[v]]
            gaps = [
                -1 if b + d <= start_t or b >= end_t else sum(1 for e in ends if e <= b)
                for b, d in zip(break_starts[v], durations, strict=True)
            ]
        depart = start_t / ts
        result_routes.append(EngineRoute(v, seq, depart, gaps))
    return EngineResult(
        "ortools",
        result_routes,
        {"objective": assignment.ObjectiveValue(), "seconds": time.monotonic() - started},
    )
