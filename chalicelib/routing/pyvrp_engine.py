"""PyVRP as an engine of the portfolio, for every problem it can express: vehicle types
with their own capacity, fixed, per-km and per-hour costs, shifts and ranges; skills as
profiles in which the stops a type may not serve are unreachable; several windows as a
group of alternative clients; breaks folded into a shift shortened by their duration
(placed afterwards by the exact re-timing, and repaired where that fails)."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from chalicelib.routing.errors import SolverError
from chalicelib.routing.instance import NUM_DIMS, Instance
from chalicelib.routing.model import TimeWindow
from chalicelib.routing.ortools_engine import DIM_SCALE
from chalicelib.routing.schedule import simulate
from chalicelib.routing.solution import EngineResult, EngineRoute

INT_MAX = 2**62
# PyVRP sums costs in int64: all prizes together stay below this, whatever the penalties.
PRIZE_BUDGET = 2**60
# The smallest non-zero per-tick cost gets at least this many integer units, so rounding
# the per-km and per-hour rates costs at most a tenth of a percent.
COST_RESOLUTION = 1000.0


def expressible(inst: Instance, nodes: Sequence[int], allowed: dict[int, list[int]]) -> bool:
    """PyVRP carries pickups to the end depot, so every pickup must be dropped there."""
    if not inst.vehicles:
        return False
    end_depots = set(inst.end_node)
    for i in nodes:
        node = inst.nodes[i]
        if node.pair is not None and {inst.nodes[node.pair].depot} != end_depots:
            return False
    return True


def exact(inst: Instance) -> bool:
    """Whether PyVRP's plan needs no re-timing beyond rounding (no breaks folded in)."""
    return not any(v.breaks for v in inst.vehicles)


def _cost_scale(inst: Instance) -> tuple[float, float, float]:
    """Integer cost units per cost unit, and per distance and per time tick of every rate:
    (scale, per_m, per_s). With one per-km rate and no hourly cost, distance ticks are the
    cost units, as PyVRP is tuned for."""
    ts, ds = inst.time_scale, inst.dist_scale
    per_km = {v.cost_per_km for v in inst.vehicles}
    if len(per_km) == 1 and not any(v.cost_per_hour for v in inst.vehicles) and min(per_km) > 0:
        scale = ds * 1000.0 / min(per_km)
        return scale, min(per_km), 0.0
    rates = [v.cost_per_km / 1000.0 / ds for v in inst.vehicles if v.cost_per_km > 0]
    rates += [v.cost_per_hour / 3600.0 / ts for v in inst.vehicles if v.cost_per_hour > 0]
    scale = COST_RESOLUTION / min(rates) if rates else ds
    return scale, 0.0, 0.0


def solve_pyvrp(
    inst: Instance,
    nodes: Sequence[int],
    allowed: dict[int, list[int]] | None = None,
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
    scale, _, _ = _cost_scale(inst)
    nv = len(inst.vehicles)
    allowed = allowed or {}
    depots = [i for i, n in enumerate(inst.nodes) if n.kind == "depot"]
    points = depots + list(nodes)
    locations = [
        pyvrp.Location(inst.nodes[g].location.lon, inst.nodes[g].location.lat) for g in points
    ]

    def amount(values: tuple[float, float, float]) -> list[int]:
        return [math.ceil(values[k] * DIM_SCALE[k] - 1e-9) for k in range(NUM_DIMS)]

    total = np.zeros(NUM_DIMS)
    for g in nodes:
        node = inst.nodes[g]
        total += np.maximum(np.array(node.delivery), np.array(node.pickup))
    fleet = np.sum([inst.capacity(v) for v in range(nv)], axis=0)
    # With room for everything, stops are required (PyVRP searches better that way); if the
    # result then leaves a stop out or is infeasible, the portfolio keeps the other plan.
    required = bool(np.all(total <= fleet * 0.97)) and all(
        inst.nodes[g].value is None for g in nodes
    )
    penalties = sum(inst.nodes[g].penalty for g in nodes if inst.nodes[g].value is None)
    prize_scale = min(scale, PRIZE_BUDGET / max(penalties, 1.0))

    clients: list[Any] = []
    groups: list[Any] = []
    node_of_client: list[int] = []
    clients_of: dict[int, list[int]] = {}
    for k, g in enumerate(nodes):
        node = inst.nodes[g]
        windows: list[TimeWindow | None] = [*sorted(node.windows, key=lambda w: w.start)] or [None]
        alternatives = len(windows) > 1
        prize = round(node.penalty * (scale if node.value is not None else prize_scale))
        group = len(groups) if alternatives else None
        members = []
        for w in windows:
            members.append(len(clients))
            node_of_client.append(g)
            clients.append(
                pyvrp.Client(
                    location=len(depots) + k,
                    delivery=amount(node.delivery),
                    pickup=amount(node.pickup),
                    service_duration=math.ceil(node.service_s * ts - 1e-9),
                    tw_early=0 if w is None else math.ceil(w.start * ts - 1e-9),
                    tw_late=INT_MAX if w is None else math.floor(w.end * ts + 1e-9),
                    # A group's members are optional; the group itself is what is required.
                    required=required and not alternatives,
                    prize=0 if required else prize,
                    group=group,
                )
            )
        clients_of[g] = members
        if alternatives:
            groups.append(pyvrp.ClientGroup(members, required=required))
    pyvrp_depots = [pyvrp.Depot(location=k) for k in range(len(depots))]

    # Unreachable: longer than any shift and any range, but far from int64 overflow.
    horizon = max(v.shift.end for v in inst.vehicles) * ts
    far_time = int(4 * horizon) + 1
    far_dist = 10**12
    profiles: dict[tuple[Any, ...], int] = {}
    dist_mats: list[Any] = []
    dur_mats: list[Any] = []
    type_of_sig: dict[tuple[Any, ...], list[int]] = {}
    for v, veh in enumerate(inst.vehicles):
        barred = tuple(k for k, g in enumerate(nodes) if allowed and v not in allowed.get(g, ()))
        pk = (inst.profile_key[v], inst.slowdown[v], barred)
        if pk not in profiles:
            profiles[pk] = len(dist_mats)
            sub = np.ix_(points, points)
            dist = np.ceil(inst.distance[pk[0]][sub] * ds - 1e-9).astype(np.int64)
            dur = np.ceil(inst.duration[pk[0]][sub] * pk[1] * ts - 1e-9).astype(np.int64)
            cols = [len(depots) + k for k in barred]
            dist[:, cols] = far_dist
            dur[:, cols] = far_time
            dist_mats.append(dist)
            dur_mats.append(dur)
        pause = sum(b.duration for b in veh.breaks)
        sig = (
            inst.start_node[v],
            inst.end_node[v],
            profiles[pk],
            repr(amount(inst.capacity(v))),
            veh.shift,
            pause,
            veh.max_duration_s,
            veh.distance_limit,
            veh.fixed_cost,
            veh.cost_per_km,
            veh.cost_per_hour,
        )
        type_of_sig.setdefault(sig, []).append(v)
    vehicle_types = []
    members_of_type: list[list[int]] = []
    per_km_only = _cost_scale(inst)[1] > 0
    for sig, vs in type_of_sig.items():
        veh = inst.vehicles[vs[0]]
        limit = veh.distance_limit
        pause = float(sig[5])
        # Folded break: the shift and the maximum duration lose the break's length, so
        # wherever the re-timing places the break, the route still ends in time.
        late = math.floor((veh.shift.end - pause) * ts + 1e-9)
        early = math.ceil(veh.shift.start * ts - 1e-9)
        vehicle_types.append(
            pyvrp.VehicleType(
                num_available=len(vs),
                capacity=amount(inst.capacity(vs[0])),
                start_depot=depots.index(int(sig[0])),
                end_depot=depots.index(int(sig[1])),
                fixed_cost=round(veh.fixed_cost * scale),
                tw_early=early,
                tw_late=max(late, early),
                shift_duration=INT_MAX
                if veh.max_duration_s is None
                else max(math.floor((veh.max_duration_s - pause) * ts), 0),
                max_distance=INT_MAX if limit is None else math.floor(limit * ds),
                unit_distance_cost=1
                if per_km_only
                else round(veh.cost_per_km / 1000.0 / ds * scale),
                unit_duration_cost=round(veh.cost_per_hour / 3600.0 / ts * scale),
                profile=int(sig[2]),
            )
        )
        members_of_type.append(vs)
    data = pyvrp.ProblemData(
        locations, clients, pyvrp_depots, vehicle_types, dist_mats, dur_mats, groups
    )
    initial = None
    if hint:
        type_of = {v: t for t, vs in enumerate(members_of_type) for v in vs}
        hint_routes = []
        for hinted in hint:
            seq = [g for g in hinted.nodes if g in clients_of]
            if not seq:
                continue
            timing = simulate(inst, hinted.vehicle, hinted.nodes, hinted.depart, hinted.break_gaps)
            start_of = dict(zip(hinted.nodes, timing.starts, strict=True))
            visits = [_client_for(inst, clients_of[g], clients, start_of[g] * ts) for g in seq]
            hint_routes.append(pyvrp.Route(data, visits, type_of[hinted.vehicle]))
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
    free = [list(vs) for vs in members_of_type]
    routes = []
    for r in best.routes():
        seq = [node_of_client[a.idx] for a in r if a.is_client()]
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


def _client_for(inst: Instance, members: list[int], clients: list[Any], start: float) -> int:
    """Of a stop's alternative clients, the one whose window holds the planned start."""
    for c in members:
        if clients[c].tw_early <= start + 1 <= clients[c].tw_late + 2:
            return c
    return members[-1]
