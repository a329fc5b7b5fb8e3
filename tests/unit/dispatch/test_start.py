"""Starting a run when the depot's holder finishes between our write and our read."""

from __future__ import annotations

from typing import Any

from chalicelib.dispatch.service import DispatchService
from chalicelib.domain.dispatch import Run


class RacingRepo:
    """The first begin loses to a run that is gone by the time the lock is read; then free."""

    def __init__(self) -> None:
        self.begun: list[str] = []

    def begin(self, run: Run, *, now: int, lease_until: int) -> str | None:
        self.begun.append(run.run_id)
        return None if len(self.begun) == 1 else run.run_id


class Depots:
    def depot(self, depot_id: str) -> object:
        return object()


class RecordingExecutions:
    def __init__(self) -> None:
        self.started: list[str] = []

    def start(self, name: str, payload: dict[str, Any]) -> None:
        self.started.append(name)


def test_a_start_that_met_a_vanishing_holder_tries_again_and_starts_its_own_run() -> None:
    repo, executions = RacingRepo(), RecordingExecutions()
    service = DispatchService(repo, None, Depots(), executions, None)  # type: ignore[arg-type]

    run_id, started = service.start("dep_1")

    assert started and len(repo.begun) == 2
    assert executions.started == [run_id] == repo.begun[1:], "only the recorded run is executed"
