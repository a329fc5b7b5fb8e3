"""The reaper: a scheduled sweep over the depots a dispatch run holds, releasing every run that
died outside the state machine's Catch (timed out, stopped by hand, a task killed, a start
that never reached Step Functions): its orders ready again, the depot free, the run failed,
and a metric an alarm watches (DispatchRunsReaped)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from chalicelib.dispatch.workflow import EXECUTION_TIMEOUT_S
from chalicelib.domain.dispatch import Run, RunStatus
from chalicelib.domain.times import parse_iso
from chalicelib.store.dispatch import DispatchRepository

logger = Logger(child=True)

# A run item is written just before its execution is started: give the start this long.
START_GRACE_S = 300
OVERRUN_GRACE_S = 300  # past the state machine's own timeout, which Step Functions enforces
METRIC = "DispatchRunsReaped"  # namespace lastmile, dimension service=lastmile (infra alarm)
# The error a reaped run is failed with (its `error`, the orders' reason), by how it ended.
_ERRORS = {
    "ABORTED": "ExecutionAborted",
    "TIMED_OUT": "ExecutionTimedOut",
    "FAILED": "ExecutionFailed",
    "SUCCEEDED": "ExecutionSucceededUnsettled",
    "OVERRAN": "ExecutionOverran",
}


class Executions(Protocol):
    def status(self, name: str) -> str | None: ...

    def stop(self, name: str, cause: str) -> None: ...


class Verdict(StrEnum):
    WAIT = "wait"  # running within its time
    UNLOCK = "unlock"  # the run is over; only its lock was left
    REAP = "reap"  # its execution ended without releasing it (or never began)
    STOP_AND_REAP = "stop_and_reap"  # its execution overran: stop it, then release


def verdict(run: Run | None, execution: str | None, now: datetime) -> Verdict:
    """What to do with a depot's lock held by `run`, whose execution stands as `execution`."""
    if run is None or run.status is not RunStatus.RUNNING:
        return Verdict.UNLOCK
    age = (now - parse_iso(run.started_at)).total_seconds()
    if execution is None:
        return Verdict.REAP if age > START_GRACE_S else Verdict.WAIT
    if execution == "RUNNING":
        overran = age > EXECUTION_TIMEOUT_S + OVERRUN_GRACE_S
        return Verdict.STOP_AND_REAP if overran else Verdict.WAIT
    return Verdict.REAP


@dataclass(frozen=True)
class Reaped:
    run_id: str
    depot_id: str
    execution: str | None
    released: int


class Reaper:
    def __init__(
        self,
        repo: DispatchRepository,
        executions: Executions,
        release: Callable[[dict[str, Any]], dict[str, Any]],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._repo = repo
        self._executions = executions
        self._release = release  # DispatchService.release, what the Catch runs
        self._clock = clock

    def sweep(self) -> dict[str, Any]:
        """Every held depot looked at once; the runs released. Raises nothing for one run's
        trouble until the others are done (the next sweep tries that one again)."""
        reaped: list[Reaped] = []
        unlocked = waiting = 0
        errors: list[str] = []
        for held in self._repo.held_depots():
            run = self._repo.get_run(held.run_id)
            execution = self._executions.status(held.run_id) if run else None
            decided = verdict(run, execution, self._clock())
            if decided is Verdict.WAIT:
                waiting += 1
                continue
            if decided is Verdict.UNLOCK:
                self._repo.end(held.depot_id, held.run_id)
                unlocked += 1
                continue
            try:
                reaped += self._reap(held.depot_id, held.run_id, execution, decided)
            except Exception as exc:  # recorded, and raised again once the others are done
                logger.exception("reaping a dispatch run failed", extra={"run_id": held.run_id})
                errors.append(f"{held.run_id}: {exc!r}")
        if reaped:
            with single_metric(
                name=METRIC, unit=MetricUnit.Count, value=len(reaped), namespace="lastmile"
            ) as metric:
                metric.add_dimension(name="service", value="lastmile")
        if errors:
            raise ReapFailed("; ".join(errors))
        return {
            "reaped": [r.__dict__ for r in reaped],
            "unlocked": unlocked,
            "running": waiting,
        }

    def _reap(
        self, depot_id: str, run_id: str, execution: str | None, decided: Verdict
    ) -> list[Reaped]:
        if decided is Verdict.STOP_AND_REAP:
            self._executions.stop(run_id, "overran the state machine's timeout; reaped")
            execution = "OVERRAN"
        error = {
            "Error": _ERRORS.get(execution or "", "ExecutionNeverStarted"),
            "Cause": f"the run's execution ended {execution or 'before it began'} outside the "
            "state machine's Catch; released by the reaper",
        }
        result = self._release({"run_id": run_id, "depot_id": depot_id, "error": error})
        if not result.get("settled"):
            return []  # it had settled meanwhile (its own Release, or Finish, got there first)
        logger.warning(
            "dispatch run reaped",
            extra={
                "run_id": run_id,
                "depot_id": depot_id,
                "execution": execution,
                "released": result.get("released", 0),
                "alert": "dispatch_run_reaped",
            },
        )
        return [Reaped(run_id, depot_id, execution, int(result.get("released", 0)))]


class ReapFailed(RuntimeError):
    """Some runs could not be reaped in this sweep (the others were); the next one retries."""
