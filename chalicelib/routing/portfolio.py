"""The engine portfolio: engine specs, running engines in forked processes under a hard
deadline, and the exact evaluation that picks the best of their plans."""

from __future__ import annotations

import logging
import multiprocessing as mp
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from chalicelib.routing.instance import Instance
from chalicelib.routing.ortools_engine import OrToolsConfig, solve_ortools
from chalicelib.routing.pyvrp_engine import solve_pyvrp
from chalicelib.routing.schedule import Timing, latest_start, simulate
from chalicelib.routing.solution import EngineResult, EngineRoute

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineSpec:
    engine: str  # "ortools" or "pyvrp"
    seed: int = 0
    ortools: OrToolsConfig = field(default_factory=OrToolsConfig)
    max_iterations: int | None = None
    break_at: float = 0.5  # PyVRP: where in its window the fixed break is planned


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
            allowed,
            deadline=deadline,
            seed=spec.seed,
            max_iterations=spec.max_iterations,
            hint=hint,
            break_at=spec.break_at,
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


def start_worker(
    ctx: Any,
    spec: EngineSpec,
    inst: Instance,
    nodes: list[int],
    allowed: dict[int, list[int]],
    deadline: float,
    hint: list[EngineRoute] | None = None,
) -> tuple[Any, Connection]:
    """Fork one engine process; returns the process and the end its answer arrives on."""
    _WORK.update(inst=inst, nodes=nodes, allowed=allowed, deadline=deadline, hint=hint)
    try:
        receiver, sender = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_worker, args=(spec, sender), daemon=True)
        proc.start()
        sender.close()
    finally:
        _WORK.clear()
    return proc, receiver


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
    ctx = mp.get_context("fork")
    running = [
        (spec, *start_worker(ctx, spec, inst, nodes, allowed, engine_deadline, hint))
        for spec in specs
    ]
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


def route_cost(inst: Instance, v: int, timing: Timing) -> float:
    """The planner's cost of one used vehicle: fixed + per km + per hour of route duration."""
    veh = inst.vehicles[v]
    return (
        veh.fixed_cost
        + veh.cost_per_km * timing.distance / 1000.0
        + veh.cost_per_hour * timing.duration / 3600.0
    )


def evaluate(inst: Instance, result: EngineResult, nodes: Sequence[int]) -> Candidate | None:
    """Re-time every route exactly. A route that breaks a constraint in exact time (an
    engine bug, never seen in the benchmarks) is dropped and its stops count as left out,
    so one bad route cannot cost the whole plan. None if a stop is visited twice."""
    timings: list[Timing] = []
    kept: list[EngineRoute] = []
    served: set[int] = set()
    cost = 0.0
    for r in result.routes:
        timing = simulate(inst, r.vehicle, r.nodes, r.depart, r.break_gaps, r.reloads)
        if not timing.feasible:
            timing = simulate(inst, r.vehicle, r.nodes, reloads=r.reloads)
        if not timing.feasible:
            log.warning(
                "%s route of vehicle %d infeasible: %s", result.engine, r.vehicle, timing.violation
            )
            continue
        cost += route_cost(inst, r.vehicle, timing)
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


def pick_best(
    inst: Instance,
    results: Sequence[EngineResult],
    nodes: Sequence[int],
    stats: dict[str, Any],
    deadline: float | None = None,
) -> Candidate | None:
    """The plan serving the most at the lowest exact cost; with a deadline, each is first
    started as late as it can (engines' integer times leave waiting the exact ones lose)."""
    best: Candidate | None = None
    stats.setdefault("candidates", [])
    for result in results:
        candidate = evaluate(inst, result, nodes)
        if candidate is not None and deadline is not None:
            candidate = tighten(inst, candidate, deadline)
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


def tighten(inst: Instance, candidate: Candidate, deadline: float) -> Candidate:
    """Each route left as late as it can without getting longer (waiting at the depot is
    not paid by the hour), as far as the deadline allows."""
    timings = []
    cost = 0.0
    for r, timing in zip(candidate.result.routes, candidate.timings, strict=True):
        if time.monotonic() < deadline:
            later = latest_start(
                inst, r.vehicle, r.nodes, timing.start, timing.break_gaps, r.reloads
            )
            if later.feasible and later.duration < timing.duration:
                timing = later
        timings.append(timing)
        cost += route_cost(inst, r.vehicle, timing)
    return Candidate(candidate.result, timings, candidate.penalty, cost)
