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
from chalicelib.routing.instance import Instance, compile_problem
from chalicelib.routing.model import (
    REASON_CAPACITY_SHORT,
    REASON_NOT_PROFITABLE,
    Load,
    Plan,
    PlannedBreak,
    Problem,
    Route,
    Unassigned,
    Visit,
)
from chalicelib.routing.ortools_engine import OrToolsConfig
from chalicelib.routing.partition import plan_partitioned
from chalicelib.routing.portfolio import Candidate, EngineSpec, pick_best, run_portfolio
from chalicelib.routing.pyvrp_engine import expressible
from chalicelib.routing.travel import TravelMatrix

log = logging.getLogger(__name__)

# Above this many service nodes the problem is split geographically (see partition.py).
PARTITION_ABOVE = 1200


def default_specs(
    inst: Instance, nodes: list[int], allowed: dict[int, list[int]], seed: int, workers: int
) -> list[EngineSpec]:
    specs: list[EngineSpec] = []
    if expressible(inst, nodes, allowed):
        specs.append(EngineSpec("pyvrp", seed=seed))
    specs.append(EngineSpec("ortools", seed=seed))
    if len(specs) < workers:
        specs.append(
            EngineSpec("ortools", seed=seed, ortools=OrToolsConfig("LOCAL_CHEAPEST_INSERTION"))
        )
    return specs[: max(workers, 1)]


def assemble(
    inst: Instance,
    best: Candidate | None,
    nodes: Sequence[int],
    reasons: dict[int, str],
    stats: dict[str, Any],
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
                )
            )
    unassigned = list(inst.pre_unassigned)
    for i, reason in sorted(reasons.items()):
        unassigned.extend(Unassigned(sid, reason) for sid in inst.nodes[i].stop_ids)
    for i in nodes:
        if i not in served:
            node = inst.nodes[i]
            reason = REASON_NOT_PROFITABLE if node.value is not None else REASON_CAPACITY_SHORT
            unassigned.extend(Unassigned(sid, reason) for sid in node.stop_ids)
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
        best, stats2 = plan_partitioned(inst, nodes, serv.allowed, t0, hard, seed, workers)
        stats.update(stats2)
    elif not nodes:
        best = None
    else:
        specs = list(specs) if specs else default_specs(inst, nodes, serv.allowed, seed, workers)
        engine_deadline = hard - 0.08 * (hard - time.monotonic()) - 0.1
        results, errors = run_portfolio(
            specs, inst, nodes, serv.allowed, engine_deadline=engine_deadline, hard_deadline=hard
        )
        best = pick_best(inst, results, nodes, stats)
        stats["errors"] = errors
        if best is None:
            raise NoPlanFound("no engine produced a feasible plan: " + "; ".join(errors))
    stats["seconds"] = round(time.monotonic() - t0, 3)
    return assemble(inst, best, nodes, serv.reasons, stats)


__all__ = ["EngineSpec", "SolverError", "plan"]
