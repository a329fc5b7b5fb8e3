"""The fallback after every engine: left-out stops inserted, cheapest first, wherever an
exactly re-timed route still takes them (idle vehicles included), so no servable stop is
left out while a vehicle has room and time for it."""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence

from chalicelib.routing.instance import NUM_DIMS, Instance
from chalicelib.routing.schedule import Timing, simulate
from chalicelib.routing.solution import EngineResult, EngineRoute

# Exact re-timings tried per left-out stop, cheapest estimated insertions first.
TRIES_PER_STOP = 16


def _load(inst: Instance, seq: Sequence[int]) -> list[float]:
    """What the vehicle leaves the depot with, as `simulate` counts it: a drop's delivery is a
    pickup brought back, not a load carried out."""
    carried = [inst.nodes[i] for i in seq if inst.nodes[i].kind != "drop"]
    return [sum(node.delivery[k] for node in carried) for k in range(NUM_DIMS)]


def has_room(
    inst: Instance, v: int, seq: Sequence[int], i: int, reloads: Sequence[int] | None = None
) -> bool:
    """Whether vehicle v, carrying `seq`, could also load stop i (on one of its trips, when
    it reloads; a vehicle with trips to spare always could, on a trip of its own)."""
    cap = inst.capacity(v)
    node = inst.nodes[i]
    need = [max(node.delivery[k], node.pickup[k]) for k in range(NUM_DIMS)]
    cuts = sorted(reloads or ())
    if seq and len(cuts) + 1 < inst.vehicles[v].max_trips:
        return all(need[k] <= cap[k] + 1e-9 for k in range(NUM_DIMS))
    bounds = [0, *cuts, len(seq)]
    return any(
        all(load[k] + need[k] <= cap[k] + 1e-9 for k in range(NUM_DIMS))
        for load in (_load(inst, seq[a:b]) for a, b in itertools.pairwise(bounds))
    )


def _estimate(inst: Instance, v: int, seq: Sequence[int], pos: int, i: int) -> float:
    """Extra cost of putting i at position pos of vehicle v's route (fixed cost if empty)."""
    veh = inst.vehicles[v]
    key = inst.profile_key[v]
    dist, dur = inst.distance[key], inst.duration[key]
    prev = inst.start_node[v] if pos == 0 else seq[pos - 1]
    nxt = inst.end_node[v] if pos == len(seq) else seq[pos]
    metres = dist[prev, i] + dist[i, nxt] - dist[prev, nxt]
    seconds = dur[prev, i] + dur[i, nxt] - dur[prev, nxt] + inst.nodes[i].service_s
    extra = veh.cost_per_km * metres / 1000.0 + veh.cost_per_hour * seconds / 3600.0
    return float(extra) + (veh.fixed_cost if not seq else 0.0)


def _shifted(reloads: Sequence[int] | None, p: int) -> list[int] | None:
    """The reload gaps once a stop is inserted at position p (it joins the earlier trip)."""
    if not reloads:
        return None
    return [g + 1 if g >= p else g for g in reloads]


def _fitting(
    inst: Instance,
    v: int,
    seq: list[int],
    depart: float | None,
    reloads: list[int] | None,
    p: int,
) -> Timing | None:
    """The insertion's exact timing where it is feasible: as it departs, from its shift
    start, or (a vehicle with a trip to spare) with the new stop starting or ending a trip
    of its own."""
    options: list[tuple[float | None, list[int] | None]] = [(depart, reloads)]
    if depart is not None:
        options.append((None, reloads))
    cuts = list(reloads or ())
    if len(cuts) + 1 < inst.vehicles[v].max_trips and len(seq) > 1:
        for extra in (p, p + 1):
            if 0 < extra < len(seq) and extra not in cuts:
                options.append((None, sorted([*cuts, extra])))
    for when, gaps in options:
        timing = simulate(inst, v, seq, when, None, gaps)
        if timing.feasible:
            return timing
    return None


def insert_left_out(
    inst: Instance,
    result: EngineResult,
    nodes: Sequence[int],
    allowed: dict[int, list[int]],
    deadline: float,
) -> EngineResult:
    """A copy of `result` with as many left-out deliveries inserted as fit before the
    deadline, highest priority first (pickups, which need their drop too, and stops with a
    value are left)."""
    routes = [
        EngineRoute(r.vehicle, list(r.nodes), r.depart, r.break_gaps, r.reloads)
        for r in result.routes
    ]
    served = {i for r in routes for i in r.nodes}
    # Stops with a value were left out by the engines as not worth their detour.
    loose = [
        i
        for i in nodes
        if i not in served and inst.nodes[i].pair is None and inst.nodes[i].value is None
    ]
    if not loose:
        return result
    used = {r.vehicle for r in routes}
    loose.sort(key=lambda i: -inst.nodes[i].penalty)
    inserted = 0
    for i in loose:
        if time.monotonic() > deadline:
            break
        able = set(allowed.get(i, ()))
        options: list[tuple[float, int, int]] = []
        for k, r in enumerate(routes):
            if r.vehicle in able and has_room(inst, r.vehicle, r.nodes, i, r.reloads):
                options.extend(
                    (_estimate(inst, r.vehicle, r.nodes, p, i), k, p)
                    for p in range(len(r.nodes) + 1)
                )
        idle_kinds: set[tuple[object, ...]] = set()
        for v in sorted(able - used):
            kind = (inst.profile_key[v], inst.start_node[v], inst.vehicles[v].shift)
            if kind not in idle_kinds:  # one idle vehicle of each kind is enough to try
                idle_kinds.add(kind)
                options.append((_estimate(inst, v, [], 0, i), -1 - v, 0))
        options.sort()
        for _, k, p in options[:TRIES_PER_STOP]:
            reloads: list[int] | None = None
            if k < 0:
                v, seq, depart = -1 - k, [i], None
            else:
                v, seq, depart = routes[k].vehicle, list(routes[k].nodes), routes[k].depart
                seq.insert(p, i)
                reloads = _shifted(routes[k].reloads, p)
            timing = _fitting(inst, v, seq, depart, reloads, p)
            if timing is not None:
                if k < 0:
                    routes.append(EngineRoute(v, seq, timing.start, None))
                    used.add(v)
                else:
                    routes[k] = EngineRoute(v, seq, timing.start, None, timing.reload_gaps or None)
                inserted += 1
                break
    if not inserted:
        return result
    stats = dict(result.stats, inserted=inserted)
    return EngineResult(result.engine, routes, stats)
