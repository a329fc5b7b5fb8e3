"""The planner's entry point: compile the problem, find who can serve what, run a portfolio
of engines in parallel processes under a hard wall-clock limit, re-time the best plan
exactly and say why every left-out stop was left out."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from chalicelib.routing.diagnosis import servability
from chalicelib.routing.errors import NoPlanFound, SolverError
from chalicelib.routing.insertion import has_room, insert_left_out
from chalicelib.routing.instance import Instance, compile_problem
from chalicelib.routing.model import (
    REASON_CAPACITY_SHORT,
    REASON_NOT_PROFITABLE,
    REASON_TIME_SHORT,
    Load,
    Plan,
    PlannedBreak,
    PlannedReload,
    Problem,
    Route,
    Unassigned,
    Visit,
)
from chalicelib.routing.ortools_engine import OrToolsConfig
from chalicelib.routing.partition import plan_partitioned
from chalicelib.routing.portfolio import (
    Candidate,
    EngineSpec,
    evaluate,
    pick_best,
    run_portfolio,
    tighten,
)
from chalicelib.routing.pyvrp_engine import expressible
from chalicelib.routing.solution import EngineResult
from chalicelib.routing.travel import TravelMatrix

log = logging.getLogger(__name__)

# Above this many service nodes the problem is split geographically (see partition.py).
PARTITION_ABOVE = 1200


def default_specs(
    inst: Instance, nodes: list[int], allowed: dict[int, list[int]], seed: int, workers: int
) -> list[EngineSpec]:
    """PyVRP wherever it expresses the problem. Beside it, OR-Tools on textbook problems
    (where it ties or wins now and then), and on real-depot ones (breaks, wages, mixed
    fleets), where OR-Tools does not reach PyVRP's plans in the time, a second PyVRP with
    another seed (on 1,000 stops the best of two seeds varies less than one by a few %)."""
    specs: list[EngineSpec] = []
    if expressible(inst, nodes, allowed):
        specs.append(EngineSpec("pyvrp", seed=seed))
        if not textbook(inst):
            specs.append(EngineSpec("pyvrp", seed=seed + 1))
    specs.append(EngineSpec("ortools", seed=seed))
    if len(specs) < workers:
        specs.append(
            EngineSpec("ortools", seed=seed, ortools=OrToolsConfig("LOCAL_CHEAPEST_INSERTION"))
        )
    return specs[: max(workers, 1)]


def ortools_specs(seed: int, workers: int) -> list[EngineSpec]:
    """OR-Tools on every core, each with another metaheuristic, from the same hint."""
    configs = [OrToolsConfig(), OrToolsConfig(metaheuristic="SIMULATED_ANNEALING")]
    return [EngineSpec("ortools", seed=seed, ortools=c) for c in configs[: max(workers, 1)]]


def relaxed_hint(
    inst: Instance,
    nodes: list[int],
    allowed: dict[int, list[int]],
    seed: int,
    workers: int,
    engine_deadline: float,
    stats: dict[str, Any],
) -> EngineResult | None:
    """Where PyVRP cannot express the whole problem (pickups dropped at a depot that is not
    the route's end), it plans the rest in the first 40% of the time; its best plan is
    OR-Tools' first solution, which then adds what was left out."""
    relaxed = [i for i in nodes if expressible(inst, [i], allowed)]
    if not relaxed:
        return None
    deadline = time.monotonic() + 0.4 * (engine_deadline - time.monotonic())
    specs = [EngineSpec("pyvrp", seed=seed + k) for k in range(max(workers, 1))]
    results, errors = run_portfolio(
        specs, inst, relaxed, allowed, engine_deadline=deadline, hard_deadline=deadline + 1.0
    )
    relaxed_stats: dict[str, Any] = {}
    best = pick_best(inst, results, relaxed, relaxed_stats)
    stats["relaxed"] = {"nodes": len(relaxed), "errors": errors, **relaxed_stats}
    if best is None:
        return None
    return EngineResult("pyvrp-relaxed", best.result.routes, best.result.stats)


def textbook(inst: Instance) -> bool:
    """One per-km rate, no wages, no breaks: the problems PyVRP and OR-Tools both model
    as plain distance."""
    return len({v.cost_per_km for v in inst.vehicles}) == 1 and not any(
        v.cost_per_hour or v.breaks for v in inst.vehicles
    )


def fill_in(
    inst: Instance,
    best: Candidate,
    nodes: Sequence[int],
    allowed: dict[int, list[int]],
    deadline: float,
    stats: dict[str, Any],
) -> Candidate:
    """Insert what the winning plan left out where it still fits, then start every route
    as late as it can."""
    # Re-timing the filled plan takes about a millisecond per stop: it is kept out of the
    # insertion's time.
    filled = insert_left_out(inst, best.result, nodes, allowed, deadline - 0.001 * len(nodes))
    if filled is not best.result:
        candidate = evaluate(inst, filled, nodes)
        if candidate is not None and candidate.score < best.score:
            stats["inserted"] = filled.stats.get("inserted", 0)
            best = candidate
    return tighten(inst, best, deadline)


def left_out_reason(inst: Instance, best: Candidate | None, i: int, able: Sequence[int]) -> str:
    """capacity_short when every vehicle able to serve the stop is too full for it;
    time_short when one had room but not the time."""
    node = inst.nodes[i]
    if node.value is not None:
        return REASON_NOT_PROFITABLE
    carrying = {r.vehicle: r.nodes for r in best.result.routes} if best else {}
    if any(has_room(inst, v, carrying.get(v, []), i) for v in able):
        return REASON_TIME_SHORT
    return REASON_CAPACITY_SHORT


def assemble(
    inst: Instance,
    best: Candidate | None,
    nodes: Sequence[int],
    reasons: dict[int, str],
    stats: dict[str, Any],
    allowed: dict[int, list[int]] | None = None,
) -> Plan:
    routes: list[Route] = []
    served: set[int] = set()
    cost = distance = 0.0
    if best is not None:
        cost = best.cost
        for r, timing in zip(best.result.routes, best.timings, strict=True):
            veh = inst.vehicles[r.vehicle]
            visits = []
            for k, i in enumerate(r.nodes):
                node = inst.nodes[i]
                load = timing.loads[k]
                visits.append(
                    Visit(
                        kind="drop" if node.kind == "drop" else node.kind,
                        stop_ids=list(node.stop_ids),
                        arrival=timing.arrivals[k],
                        start=timing.starts[k],
                        departure=timing.departures[k],
                        load_after=Load(round(load[0]), load[1], load[2]),
                        location=node.location,
                    )
                )
            served.update(r.nodes)
            distance += timing.distance
            sl = timing.start_load
            routes.append(
                Route(
                    vehicle_id=veh.id,
                    start=timing.start,
                    end=timing.end,
                    distance_m=timing.distance,
                    duration_s=timing.duration,
                    start_load=Load(round(sl[0]), sl[1], sl[2]),
                    visits=visits,
                    breaks=[PlannedBreak(g - 1, s, d) for g, s, d in timing.breaks],
                    reloads=[
                        PlannedReload(g - 1, back, leave, Load(round(x[0]), x[1], x[2]))
                        for g, back, leave, x in timing.reloads
                    ],
                )
            )
    unassigned = list(inst.pre_unassigned)
    for i, reason in sorted(reasons.items()):
        unassigned.extend(Unassigned(sid, reason) for sid in inst.nodes[i].stop_ids)
    for i in nodes:
        if i not in served:
            reason = left_out_reason(inst, best, i, (allowed or {}).get(i, []))
            unassigned.extend(Unassigned(sid, reason) for sid in inst.nodes[i].stop_ids)
    return Plan(
        routes=routes,
        unassigned=unassigned,
        cost=cost,
        distance_m=distance,
        engine=best.result.engine if best else "none",
        locker_allocation=dict(inst.locker_allocation),
        stats=stats,
    )


def plan(
    problem: Problem,
    *,
    time_limit_s: float,
    seed: int = 0,
    travel: TravelMatrix | None = None,
    workers: int = 2,
    specs: Sequence[EngineSpec] | None = None,
    partition_above: int = PARTITION_ABOVE,
) -> Plan:
    """Plan routes for `problem` within `time_limit_s` seconds of wall-clock time (process
    start-up included). Raises SolverError (NoPlanFound) if no engine produced a plan."""
    t0 = time.monotonic()
    hard = t0 + time_limit_s - min(1.0, 0.03 * time_limit_s + 0.1)
    inst = compile_problem(problem, travel)
    serv = servability(inst)
    nodes = sorted(serv.allowed)
    stats: dict[str, Any] = {"nodes": len(nodes)}
    if len(nodes) > partition_above:
        # The parts end early enough to leave time for the fill-in across their borders.
        parts_end = hard - min(0.05 * time_limit_s, 5.0)
        best, stats2 = plan_partitioned(inst, nodes, serv.allowed, t0, parts_end, seed, workers)
        stats.update(stats2)
    elif not nodes:
        best = None
    else:
        # What is left after the engines: their answers' transfer, re-timing and fill-in.
        engine_deadline = hard - 0.04 * (hard - time.monotonic()) - 0.3
        hint = None
        if not specs and not expressible(inst, nodes, serv.allowed):
            hint = relaxed_hint(inst, nodes, serv.allowed, seed, workers, engine_deadline, stats)
            specs = ortools_specs(seed, workers)
        specs = list(specs) if specs else default_specs(inst, nodes, serv.allowed, seed, workers)
        results, errors = run_portfolio(
            specs,
            inst,
            nodes,
            serv.allowed,
            engine_deadline=engine_deadline,
            hard_deadline=hard,
            hint=hint.routes if hint else None,
        )
        if hint is not None:
            results.append(hint)
        best = pick_best(inst, results, nodes, stats, deadline=hard - 0.3)
        stats["errors"] = errors
        if best is None:
            raise NoPlanFound("no engine produced a feasible plan: " + "; ".join(errors))
    if best is not None:
        best = fill_in(inst, best, nodes, serv.allowed, hard - 0.2, stats)
    stats["seconds"] = round(time.monotonic() - t0, 3)
    return assemble(inst, best, nodes, serv.reasons, stats, serv.allowed)


__all__ = ["EngineSpec", "SolverError", "plan"]
