"""The planner's entry point: compile the problem, find who can serve what, run a portfolio
of engines in parallel processes under a hard wall-clock limit, re-time the best plan
exactly and say why every left-out stop was left out."""

from __future__ import annotations

import logging
import multiprocessing as mp
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
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
from chalicelib.routing.ortools_engine import OrToolsConfig, solve_ortools
from chalicelib.routing.pyvrp_engine import expressible, solve_pyvrp
from chalicelib.routing.schedule import Timing, simulate
from chalicelib.routing.solution import EngineResult, EngineRoute
from chalicelib.routing.travel import TravelMatrix

log = logging.getLogger(__name__)

# Above this many service nodes the problem is split geographically (see partition.py).
PARTITION_ABOVE = 1200


@dataclass(frozen=True)
class EngineSpec:
    engine: str  # "ortools" or "pyvrp"
    seed: int = 0
    ortools: OrToolsConfig = field(default_factory=OrToolsConfig)
    max_iterations: int | None = None


@dataclass
class Candidate:
    result: EngineResult
    timings: list[Timing]
    penalty: float
    cost: float

    @property
    def score(self) -> tuple[float, float]:
        return (round(self.penalty, 6), self.cost)


# Filled by the parent right before forking, so workers inherit the instance (and its
# matrices) without pickling it.
_WORK: dict[str, Any] = {}


def run_engine(
    spec: EngineSpec,
    inst: Instance,
    nodes: list[int],
    allowed: dict[int, list[int]],
    deadline: float,
    hint: list[EngineRoute] | None = None,
) -> EngineResult:
    if spec.engine == "pyvrp":
        return solve_pyvrp(
            inst,
            nodes,
            deadline=deadline,
            seed=spec.seed,
            max_iterations=spec.max_iterations,
            hint=hint,
        )
    return solve_ortools(inst, nodes, allowed, deadline=deadline, config=spec.ortools, hint=hint)


def _worker(spec: EngineSpec, conn: Connection) -> None:
    try:
        result = run_engine(
            spec,
            _WORK["inst"],
            _WORK["nodes"],
            _WORK["allowed"],
            _WORK["deadline"],
            _WORK.get("hint"),
        )
        conn.send(("ok", result))
    except Exception as exc:  # a worker must report, whatever happened
        log.exception("engine %s failed", spec.engine)
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def run_portfolio(
    specs: Sequence[EngineSpec],
    inst: Instance,
    nodes: list[int],
    allowed: dict[int, list[int]],
    *,
    engine_deadline: float,
    hard_deadline: float,
    hint: list[EngineRoute] | None = None,
) -> tuple[list[EngineResult], list[str]]:
    """Run each spec in its own forked process; whatever has not answered by
    hard_deadline is killed. Returns the results and the errors."""
    _WORK.update(inst=inst, nodes=nodes, allowed=allowed, deadline=engine_deadline, hint=hint)
    ctx = mp.get_context("fork")
    running = []
    try:
        for spec in specs:
            receiver, sender = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_worker, args=(spec, sender), daemon=True)
            proc.start()
            sender.close()
            running.append((spec, proc, receiver))
    finally:
        _WORK.clear()
    results: list[EngineResult] = []
    errors: list[str] = []
    for spec, proc, receiver in running:
        try:
            if receiver.poll(max(hard_deadline - time.monotonic(), 0.0)):
                status, payload = receiver.recv()
                if status == "ok":
                    results.append(payload)
                else:
                    errors.append(f"{spec.engine}: {payload}")
            else:
                errors.append(f"{spec.engine}: no answer before the time limit")
        except EOFError:
            errors.append(f"{spec.engine}: worker died (exit code {proc.exitcode})")
        finally:
            receiver.close()
            proc.join(timeout=0.05)
            if proc.is_alive():
                proc.kill()
                proc.join()
    return results, errors


def evaluate(inst: Instance, result: EngineResult, nodes: Sequence[int]) -> Candidate | None:
    """Re-time every route exactly. A route that breaks a constraint in exact time (an
    engine bug, never seen in the benchmarks) is dropped and its stops count as left out,
    so one bad route cannot cost the whole plan. None if a stop is visited twice."""
    timings: list[Timing] = []
    kept: list[EngineRoute] = []
    served: set[int] = set()
    cost = 0.0
    for r in result.routes:
        timing = simulate(inst, r.vehicle, r.nodes, r.depart, r.break_gaps)
        if not timing.feasible:
            timing = simulate(inst, r.vehicle, r.nodes)
        if not timing.feasible:
            log.warning(
                "%s route of vehicle %d infeasible: %s", result.engine, r.vehicle, timing.violation
            )
            continue
        veh = inst.vehicles[r.vehicle]
        cost += (
            veh.fixed_cost
            + veh.cost_per_km * timing.distance / 1000.0
            + veh.cost_per_hour * timing.duration / 3600.0
        )
        timings.append(timing)
        kept.append(r)
        served.update(r.nodes)
    if len(served) != sum(len(r.nodes) for r in kept):
        log.warning("%s visits a stop twice", result.engine)
        return None
    penalty = sum(inst.nodes[i].penalty for i in nodes if i not in served)
    if len(kept) < len(result.routes):
        result = EngineResult(result.engine, kept, result.stats)
    return Candidate(result, timings, penalty, cost)


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
        from chalicelib.routing.partition import plan_partitioned

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


def pick_best(
    inst: Instance, results: Sequence[EngineResult], nodes: Sequence[int], stats: dict[str, Any]
) -> Candidate | None:
    best: Candidate | None = None
    stats.setdefault("candidates", [])
    for result in results:
        candidate = evaluate(inst, result, nodes)
        stats["candidates"].append(
            {
                "engine": result.engine,
                "feasible": candidate is not None,
                "cost": None if candidate is None else round(candidate.cost, 4),
                "dropped_penalty": None if candidate is None else candidate.penalty,
            }
        )
        if candidate is not None and (best is None or candidate.score < best.score):
            best = candidate
    return best


__all__ = ["EngineSpec", "SolverError", "plan"]
