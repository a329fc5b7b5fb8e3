"""Large problems: split the stops geographically into parts balanced by parcels and
working time, solve the parts in parallel, then repair across the part boundaries by
re-solving groups of neighbouring routes (sectors shifted by half a part), each started
from the current routes as a hint and kept only if it improves."""

from __future__ import annotations

import logging
import math
import multiprocessing as mp
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from chalicelib.routing.instance import Instance
from chalicelib.routing.portfolio import Candidate, EngineSpec, evaluate, start_worker
from chalicelib.routing.pyvrp_engine import expressible
from chalicelib.routing.solution import EngineResult, EngineRoute

log = logging.getLogger(__name__)

PART_SIZE = 450  # service nodes per part: where both engines still search well in seconds


def restrict(inst: Instance, vehicles: list[int]) -> Instance:
    return replace(
        inst,
        vehicles=[inst.vehicles[v] for v in vehicles],
        start_node=[inst.start_node[v] for v in vehicles],
        end_node=[inst.end_node[v] for v in vehicles],
        slowdown=[inst.slowdown[v] for v in vehicles],
        profile_key=[inst.profile_key[v] for v in vehicles],
    )


def _angles(inst: Instance, nodes: list[int], centre: int = 0) -> np.ndarray:
    depot = inst.nodes[centre].location
    lat = np.array([inst.nodes[i].location.lat for i in nodes]) - depot.lat
    lon = (np.array([inst.nodes[i].location.lon for i in nodes]) - depot.lon) * math.cos(
        math.radians(depot.lat)
    )
    return np.arctan2(lat, lon)


def _weights(inst: Instance, nodes: list[int]) -> np.ndarray:
    """Share of the fleet's parcels plus share of the working time each stop needs."""
    parcels = np.array([max(inst.nodes[i].delivery[0], inst.nodes[i].pickup[0]) for i in nodes])
    service = np.array([inst.nodes[i].service_s for i in nodes])
    p = parcels / max(parcels.sum(), 1e-9)
    s = service / max(service.sum(), 1e-9)
    return (p + s) / 2


def sweep_parts(
    inst: Instance, nodes: list[int], k: int, offset: float = 0.0, centre: int = 0
) -> list[list[int]]:
    """Cut the stops into k sectors around depot node `centre` with equal weight; `offset`
    in [0, 1) shifts the cuts by that fraction of a part."""
    angles = _angles(inst, nodes, centre)
    order = np.argsort(angles, kind="stable")
    weights = _weights(inst, nodes)[order]
    cum = (np.cumsum(weights) - weights / 2 + offset / k) % 1.0
    part = np.minimum((cum * k).astype(int), k - 1)
    parts: list[list[int]] = [[] for _ in range(k)]
    for pos, idx in enumerate(order):
        parts[part[pos]].append(nodes[idx])
    return [p for p in parts if p]


def share_vehicles(inst: Instance, parts: list[list[int]], vehicles: list[int]) -> list[list[int]]:
    """Each kind of vehicle (a mixed fleet's vans, fridge vans, bikes) is shared out in
    proportion to the parcels of each part, so every part gets its share of every kind."""
    if len(vehicles) <= len(parts):
        return [vehicles[k : k + 1] for k in range(len(parts))]
    need = [sum(max(inst.nodes[i].delivery[0], inst.nodes[i].pickup[0]) for i in p) for p in parts]
    total = sum(need) or 1.0
    kinds: dict[tuple[object, ...], list[int]] = {}
    for v in vehicles:
        veh = inst.vehicles[v]
        kind = (inst.profile_key[v], inst.capacity(v), veh.skills, veh.shift, veh.fixed_cost)
        kinds.setdefault(kind, []).append(v)
    shares: list[list[int]] = [[] for _ in parts]
    carry = [0.0] * len(parts)  # what each part is owed so far, across kinds
    for members in kinds.values():
        quota = [len(members) * n / total + c for n, c in zip(need, carry, strict=True)]
        counts = [int(q) for q in quota]
        by_remainder = sorted(range(len(parts)), key=lambda k: counts[k] - quota[k])
        for k in by_remainder[: len(members) - sum(counts)]:
            counts[k] += 1
        carry = [q - c for q, c in zip(quota, counts, strict=True)]
        pos = 0
        for k, c in enumerate(counts):
            shares[k].extend(members[pos : pos + c])
            pos += c
    for share in shares:
        if not share:  # a part with stops needs a vehicle: take one from the best-off part
            donor = max(range(len(parts)), key=lambda j: len(shares[j]))
            share.append(shares[donor].pop())
    return shares


def _run_parts(
    jobs: Sequence[
        tuple[
            Instance, list[int], dict[int, list[int]], list[EngineRoute] | None, EngineSpec, float
        ]
    ],
    workers: int,
    hard: float,
) -> list[EngineResult | None]:
    """Run (instance, nodes, allowed, hint, spec, budget) jobs, `workers` at a time."""
    ctx = mp.get_context("fork")
    results: list[EngineResult | None] = [None] * len(jobs)
    pending = list(range(len(jobs)))
    running: dict[int, tuple[Any, Any, float]] = {}
    while pending or running:
        while pending and len(running) < workers:
            k = pending.pop(0)
            sub, nodes, allowed, hint, spec, budget = jobs[k]
            deadline = min(time.monotonic() + budget, hard - 0.3)
            proc, receiver = start_worker(ctx, spec, sub, nodes, allowed, deadline, hint)
            # PyVRP checks its clock between iterations, and a part's first iteration on a
            # loaded machine can take seconds: the grace grows with the budget.
            running[k] = (proc, receiver, deadline + max(1.0, 0.25 * budget))
        for k, (proc, receiver, kill_at) in list(running.items()):
            ready = receiver.poll(0.02)
            expired = time.monotonic() > min(kill_at, hard)
            if ready or expired or not proc.is_alive():
                if ready:
                    try:
                        status, payload = receiver.recv()
                        if status == "ok":
                            results[k] = payload
                        else:
                            log.warning("part %d: %s", k, payload)
                    except EOFError:
                        log.warning("part %d: the engine process died", k)
                elif expired:
                    log.warning("part %d: no answer before its deadline", k)
                receiver.close()
                proc.join(timeout=0.05)
                if proc.is_alive():
                    proc.kill()
                    proc.join()
                del running[k]
    return results


def _localise(
    inst: Instance, nodes: list[int], allowed: dict[int, list[int]], vehicles: list[int]
) -> tuple[Instance, list[int], dict[int, list[int]]]:
    local = {v: k for k, v in enumerate(vehicles)}
    sub_allowed = {i: [local[v] for v in allowed[i] if v in local] for i in nodes}
    kept = [i for i in nodes if sub_allowed[i]]
    return restrict(inst, vehicles), kept, sub_allowed


def _spec(inst: Instance, nodes: list[int], allowed: dict[int, list[int]], seed: int) -> EngineSpec:
    return EngineSpec("pyvrp" if expressible(inst, nodes, allowed) else "ortools", seed=seed)


def by_depot(
    inst: Instance, nodes: list[int], allowed: dict[int, list[int]]
) -> dict[int, tuple[list[int], list[int]]]:
    """Each stop goes to the nearest depot that has a vehicle able to serve it; each depot
    keeps the vehicles that start there."""
    fleets: dict[int, list[int]] = {}
    for v, d in enumerate(inst.start_node):
        fleets.setdefault(d, []).append(v)
    dist = inst.distance[inst.profile_key[0]]
    groups: dict[int, tuple[list[int], list[int]]] = {d: ([], vs) for d, vs in fleets.items()}
    for i in nodes:
        able = {inst.start_node[v] for v in allowed[i]}
        d = min(able, key=lambda d: (dist[d, i], d))
        groups[d][0].append(i)
    return {d: g for d, g in groups.items() if g[0]}


def plan_partitioned(
    inst: Instance,
    nodes: list[int],
    allowed: dict[int, list[int]],
    t0: float,
    hard: float,
    seed: int,
    workers: int,
) -> tuple[Candidate | None, dict[str, Any]]:
    workers = max(workers, 1)
    parts: list[list[int]] = []
    shares: list[list[int]] = []
    sectors: dict[int, int] = {}
    for depot, (dnodes, fleet) in by_depot(inst, nodes, allowed).items():
        k = max(1, math.ceil(len(dnodes) / PART_SIZE))
        sectors[depot] = k
        dparts = sweep_parts(inst, dnodes, k, centre=depot)
        for part, share in zip(dparts, share_vehicles(inst, dparts, fleet), strict=True):
            if share:  # a part with no vehicle left stays unserved (capacity_short)
                parts.append(part)
                shares.append(share)
    left = hard - time.monotonic()
    rounds = math.ceil(len(parts) / workers)
    budget1 = 0.6 * left / rounds - 0.2
    jobs = []
    for part, vehicles in zip(parts, shares, strict=True):
        sub, kept, sub_allowed = _localise(inst, part, allowed, vehicles)
        jobs.append((sub, kept, sub_allowed, None, _spec(sub, kept, sub_allowed, seed), budget1))
    routes: list[EngineRoute] = []
    engines: set[str] = set()
    phase1 = _run_parts(jobs, workers, hard)
    for vehicles, result in zip(shares, phase1, strict=True):
        if result is None:
            continue
        engines.add(result.engine)
        for r in result.routes:
            routes.append(replace(r, vehicle=vehicles[r.vehicle]))
    stats: dict[str, Any] = {
        "parts": len(parts),
        "parts_solved": sum(1 for r in phase1 if r is not None),
        "phase1_s": round(time.monotonic() - t0, 2),
    }

    # Repair: per depot, regroup whole routes (and what was left out) into sectors shifted
    # by half a part, and re-solve each group starting from its current routes.
    left = hard - time.monotonic()
    if left > 2.0 and routes:
        served = {i for r in routes for i in r.nodes}
        loose = [i for i in nodes if i not in served]
        used = {r.vehicle for r in routes}
        groups: list[tuple[list[int], list[int], list[int]]] = []  # routes, loose, idle
        for depot, k in sectors.items():
            droutes = [j for j, r in enumerate(routes) if inst.start_node[r.vehicle] == depot]
            if not droutes:
                continue
            centre = inst.nodes[depot].location
            angle = {
                j: float(
                    np.arctan2(
                        np.mean([inst.nodes[i].location.lat - centre.lat for i in routes[j].nodes]),
                        np.mean([inst.nodes[i].location.lon - centre.lon for i in routes[j].nodes]),
                    )
                )
                for j in droutes
            }
            order = sorted(droutes, key=lambda j: angle[j])
            per_group = max(1, math.ceil(len(order) / k))
            shift = per_group // 2 if k > 1 else 0
            order = order[shift:] + order[:shift]
            dgroups = [order[g : g + per_group] for g in range(0, len(order), per_group)]
            idle = [
                v
                for v in range(len(inst.vehicles))
                if v not in used and inst.start_node[v] == depot
            ]
            dloose = [i for i in loose if depot in {inst.start_node[v] for v in allowed[i]}]
            loose = [i for i in loose if i not in set(dloose)]
            centres = [np.mean([angle[j] for j in grp]) for grp in dgroups]
            loose_of: list[list[int]] = [[] for _ in dgroups]
            if dloose:
                for i, a in zip(dloose, _angles(inst, dloose, depot), strict=True):
                    loose_of[int(np.argmin([abs(a - c) for c in centres]))].append(i)
            for g, grp in enumerate(dgroups):
                groups.append((grp, loose_of[g], idle[g :: len(dgroups)]))
        rounds = math.ceil(len(groups) / workers)
        budget2 = left / rounds - 0.3
        jobs2 = []
        group_vehicles = []
        for grp, gloose, gidle in groups:
            vehicles = [routes[j].vehicle for j in grp] + gidle
            gnodes = [i for j in grp for i in routes[j].nodes if inst.nodes[i].kind != "drop"]
            gnodes += gloose
            sub, kept, sub_allowed = _localise(inst, gnodes, allowed, vehicles)
            local = {v: n for n, v in enumerate(vehicles)}
            hint = [replace(routes[j], vehicle=local[routes[j].vehicle]) for j in grp]
            jobs2.append(
                (sub, kept, sub_allowed, hint, _spec(sub, kept, sub_allowed, seed + 1), budget2)
            )
            group_vehicles.append(vehicles)
        improved = 0
        new_routes: list[EngineRoute] = []
        for g, result in enumerate(_run_parts(jobs2, workers, hard)):
            sub, kept, _, hint, _, _ = jobs2[g]
            old = EngineResult("hint", hint or [])
            before = evaluate(sub, old, kept)
            after = evaluate(sub, result, kept) if result is not None else None
            chosen = old
            if after is not None and (before is None or after.score < before.score):
                chosen = result  # type: ignore[assignment]
                improved += 1
                engines.add(chosen.engine)
            vehicles = group_vehicles[g]
            new_routes.extend(replace(r, vehicle=vehicles[r.vehicle]) for r in chosen.routes)
        routes = new_routes
        stats["repaired_groups"] = f"{improved}/{len(groups)}"
    combined = EngineResult("+".join(sorted(engines)) or "none", routes)
    return evaluate(inst, combined, nodes), stats
