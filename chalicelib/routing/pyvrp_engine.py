"""PyVRP as a second engine of the portfolio, for the problems it can express exactly:
one window per stop, no breaks, no skill restrictions, pickups returned to the vehicles'
end depot, costs per km only (the same rate for every vehicle)."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from chalicelib.routing.errors import SolverError
from chalicelib.routing.instance import NUM_DIMS, Instance
from chalicelib.routing.ortools_engine import DIM_SCALE
from chalicelib.routing.solution import EngineResult, EngineRoute

INT_MAX = 2**62


def expressible(inst: Instance, nodes: Sequence[int], allowed: dict[int, list[int]]) -> bool:
    vehicles = inst.vehicles
    if not vehicles or any(v.breaks or v.cost_per_hour for v in vehicles):
        return False
    if len({v.cost_per_km for v in vehicles}) != 1 or vehicles[0].cost_per_km <= 0:
        return False
    end_depots = set(inst.end_node)
    for i in nodes:
        node = inst.nodes[i]
        if len(node.windows) > 1 or len(allowed.get(i, ())) != len(vehicles):
            return False
        if node.pair is not None and {inst.nodes[node.pair].depot} != end_depots:
            return False
    return True


def solve_pyvrp(
    inst: Instance,
    nodes: Sequence[int],
    *,
    deadline: float,
    seed: int = 0,
    max_iterations: int | None = None,
    hint: list[EngineRoute] | None = None,
) -> EngineResult:
    import pyvrp
    from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria

    started = time.monotonic()
    ts, ds = inst.time_scale, inst.dist_scale
    per_m = inst.vehicles[0].cost_per_km / 1000.0  # cost units per metre
    depots = [i for i, n in enumerate(inst.nodes) if n.kind == "depot"]
    points = depots + list(nodes)
    client_of = {g: k for k, g in enumerate(nodes)}
    locations = [
        pyvrp.Location(inst.nodes[g].location.lon, inst.nodes[g].location.lat) for g in points
    ]

    def amount(values: tuple[float, float, float]) -> list[int]:
        return [math.ceil(values[k] * DIM_SCALE[k] - 1e-9) for k in range(NUM_DIMS)]

    total = np.zeros(NUM_DIMS)
    for g in nodes:
        node = inst.nodes[g]
        total += np.maximum(np.array(node.delivery), np.array(node.pickup))
    fleet = np.sum([inst.capacity(v) for v in range(len(inst.vehicles))], axis=0)
    # With room for everything, stops are required (PyVRP searches better that way); if the
    # result then leaves a stop out or is infeasible, the portfolio keeps the other plan.
    required = bool(np.all(total <= fleet * 0.97)) and all(
        inst.nodes[g].value is None for g in nodes
    )
    clients = []
    for k, g in enumerate(nodes):
        node = inst.nodes[g]
        w = node.windows[0] if node.windows else None
        clients.append(
            pyvrp.Client(
                location=len(depots) + k,
                delivery=amount(node.delivery),
                pickup=amount(node.pickup),
                service_duration=math.ceil(node.service_s * ts - 1e-9),
                tw_early=0 if w is None else math.ceil(w.start * ts - 1e-9),
                tw_late=INT_MAX if w is None else math.floor(w.end * ts + 1e-9),
                required=required,
                prize=0 if required else round(node.penalty / per_m * ds),
            )
        )
    pyvrp_depots = [pyvrp.Depot(location=k) for k in range(len(depots))]

    profiles: dict[tuple[str, float], int] = {}
    dist_mats: list[Any] = []
    dur_mats: list[Any] = []
    groups: dict[tuple[Any, ...], list[int]] = {}
    for v, veh in enumerate(inst.vehicles):
        pk = (inst.profile_key[v], inst.slowdown[v])
        if pk not in profiles:
            profiles[pk] = len(dist_mats)
            sub = np.ix_(points, points)
            dist_mats.append(np.rint(inst.distance[pk[0]][sub] * ds).astype(np.int64))
            dur = inst.duration[pk[0]][sub] * pk[1] * ts
            dur_mats.append(np.ceil(dur - 1e-9).astype(np.int64))
        sig = (
            depots.index(inst.start_node[v]),
            depots.index(inst.end_node[v]),
            profiles[pk],
            amount(inst.capacity(v)).__repr__(),
            veh.shift,
            veh.max_duration_s,
            veh.distance_limit,
            veh.fixed_cost,
        )
        groups.setdefault(sig, []).append(v)
    vehicle_types = []
    members: list[list[int]] = []
    for sig, vs in groups.items():
        veh = inst.vehicles[vs[0]]
        cap = amount(inst.capacity(vs[0]))
        limit = veh.distance_limit
        vehicle_types.append(
            pyvrp.VehicleType(
                num_available=len(vs),
                capacity=cap,
                start_depot=int(sig[0]),
                end_depot=int(sig[1]),
                fixed_cost=round(veh.fixed_cost / per_m * ds),
                tw_early=math.ceil(veh.shift.start * ts - 1e-9),
                tw_late=math.floor(veh.shift.end * ts + 1e-9),
                shift_duration=INT_MAX
                if veh.max_duration_s is None
                else math.floor(veh.max_duration_s * ts),
                max_distance=INT_MAX if limit is None else math.floor(limit * ds),
                unit_distance_cost=1,
                profile=int(sig[2]),
            )
        )
        members.append(vs)
    data = pyvrp.ProblemData(locations, clients, pyvrp_depots, vehicle_types, dist_mats, dur_mats)
    initial = None
    if hint:
        type_of = {v: t for t, vs in enumerate(members) for v in vs}
        hint_routes = [
            pyvrp.Route(data, [client_of[g] for g in r.nodes if g in client_of], type_of[r.vehicle])
            for r in hint
            if any(g in client_of for g in r.nodes)
        ]
        initial = pyvrp.Solution(data, hint_routes)
    budget = max(deadline - time.monotonic(), 0.05)
    stop: Any = MaxRuntime(budget)
    if max_iterations is not None:
        stop = MultipleCriteria([MaxRuntime(budget), MaxIterations(max_iterations)])
    result = pyvrp.solve(
        data, stop=stop, seed=seed, display=False, collect_stats=False, initial_solution=initial
    )
    best = result.best
    if not best.is_feasible():
        raise SolverError("PyVRP found no feasible solution")
    free = [list(vs) for vs in members]
    routes = []
    for r in best.routes():
        seq = [nodes[a.idx] for a in r if a.is_client()]
        if not seq:
            continue
        # PyVRP carries pickups to the end depot: their drop nodes close the route.
        seq += [p for p in (inst.nodes[g].pair for g in seq) if p is not None]
        v = free[r.vehicle_type()].pop(0)
        routes.append(EngineRoute(v, seq, r.start_time() / ts, None))
    return EngineResult(
        "pyvrp",
        routes,
        {"cost": best.distance_cost(), "seconds": time.monotonic() - started},
    )
