"""Faults the local runtime can inject into the dispatch workflow, for tests and fault-bench:
each replaces one task's Lambda function in the local Step Functions (the port the state
machine calls through), never a branch in product code.

    inject(runner, "optimiser_crash")       # every solve raises SolverError: the run fails
    inject(runner, "commit_crash_halfway")  # Commit dies after planning half its orders
    inject(runner, "finish_crash")          # Finish raises after Commit: the run fails
    inject(runner, "stuck_run")             # Build hangs; stop_execution(run_id) then makes
                                            # it a run that died outside the Catch (reaper)
    clear(runner)                           # every task back to app.py's handler

A fault holds until cleared (a run retried by the state machine meets it again). The local
runtime serves them too: POST /local/dispatch/faults {fault}, DELETE /local/dispatch/faults,
POST /local/dispatch-runs/{run_id}/stop (chalicelib/api/local.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from chalicelib import bootstrap
from chalicelib.domain.errors import NotFound
from chalicelib.local.dispatch import execution_arn, register_task
from chalicelib.local.stepfunctions import LocalStepFunctions, active_runner
from chalicelib.routing.errors import SolverError
from chalicelib.store.dispatch import DispatchRepository

Handler = Callable[[dict[str, Any], Any], Any]
STUCK_FOR_S = 900.0  # how long a stuck Build hangs at most (its thread cannot be killed)


class InjectedCrash(RuntimeError):
    """A task that died (as a killed Lambda would): not retried by the state machine."""


class _CrashingHalfway(DispatchRepository):
    """Plans `keep` orders, then the next write raises, as a commit killed halfway would."""

    def __init__(self, keep: int) -> None:
        self._keep = keep
        self._lock = threading.Lock()

    def plan_order(self, *args: Any, **kwargs: Any) -> str:
        with self._lock:
            self._keep -= 1
            crash = self._keep < 0
        if crash:
            raise InjectedCrash("commit crashed halfway (injected)")
        return super().plan_order(*args, **kwargs)


def _optimiser_crash(event: dict[str, Any], context: Any) -> Any:
    raise SolverError("the solver crashed (injected)")


def _commit_crash_halfway(event: dict[str, Any], context: Any) -> Any:
    run_id, depot_id = event["run_id"], event["depot_id"]
    claimed = sum(
        1 for r in bootstrap.dispatch_repository().ready_orders(depot_id) if r.claimed_by == run_id
    )
    return bootstrap.dispatch(_CrashingHalfway(claimed // 2)).commit(event)


def _finish_crash(event: dict[str, Any], context: Any) -> Any:
    raise InjectedCrash("finish crashed after commit (injected)")


_stuck = threading.Event()


def _stuck_run(event: dict[str, Any], context: Any) -> Any:
    _stuck.wait(STUCK_FOR_S)
    raise InjectedCrash("a stuck build let go (injected)")


# fault -> (the workflow's function it replaces, the faulty handler)
FAULTS: dict[str, tuple[str, Handler]] = {
    "optimiser_crash": ("optimiser", _optimiser_crash),
    "commit_crash_halfway": ("dispatch_commit", _commit_crash_halfway),
    "finish_crash": ("dispatch_finish", _finish_crash),
    "stuck_run": ("dispatch_build", _stuck_run),
}
_injected: set[str] = set()  # the workflow's functions replaced
_faults: set[str] = set()  # the faults in force


def injected() -> list[str]:
    """The faults in force."""
    return sorted(_faults)


def inject(runner: LocalStepFunctions | None, fault: str) -> None:
    """Make the workflow's runs meet `fault` (one of FAULTS) until `clear`; `runner` None is
    this process's running workflow."""
    runner = runner or active_runner()
    if fault not in FAULTS:
        raise ValueError(f"no fault {fault!r}; one of {', '.join(FAULTS)}")
    function, handler = FAULTS[fault]
    if fault == "stuck_run":
        _stuck.clear()
    register_task(runner, function, handler)
    _injected.add(function)
    _faults.add(fault)


def clear(runner: LocalStepFunctions | None = None) -> None:
    """Every replaced task back to app.py's handler; stuck tasks let go."""
    runner = runner or active_runner()
    _stuck.set()
    for function in sorted(_injected):
        register_task(runner, function)
    _injected.clear()
    _faults.clear()


def stop_execution(run_id: str, state_machine_arn: str | None = None) -> str:
    """Stop a run's execution, as its timeout or an operator would: no Catch runs. Its status
    after (ABORTED, or how it had ended already)."""
    arn = state_machine_arn or bootstrap.settings().dispatch_state_machine_arn
    client = bootstrap.client("stepfunctions")
    execution = execution_arn(arn, run_id)
    try:
        client.stop_execution(executionArn=execution, cause="stopped (injected)")
    except client.exceptions.ExecutionDoesNotExist as exc:
        raise NotFound(f"no execution of run {run_id}") from exc
    return str(client.describe_execution(executionArn=execution)["status"])
