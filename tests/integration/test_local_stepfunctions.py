"""Real ASL run by moto's interpreter, with each Lambda Task answered by our Python handler:
outputs, Retry without sleeping, Catch by error name, timeouts, isolated processes."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.local.aws import EmbeddedAws
from chalicelib.local.stepfunctions import LocalStepFunctions, UnresolvedPlaceholder
from tests.integration import stepfunctions_handlers

HANDLERS = "tests.integration.stepfunctions_handlers"


class FlakyError(Exception):
    pass


class BoomError(Exception):
    pass


@pytest.fixture
def sfn(aws: EmbeddedAws) -> Iterator[LocalStepFunctions]:
    with LocalStepFunctions(aws.endpoint, aws.port) as local:
        yield local


def task(function: str, **fields: Any) -> dict[str, Any]:
    """A Lambda Task as infra/statemachines writes them: the invoke integration, Payload out."""
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "${" + function + "}", "Payload.$": "$"},
        "OutputPath": "$.Payload",
        **fields,
    }


def run(
    sfn: LocalStepFunctions,
    tmp_path: Path,
    name: str,
    states: dict[str, Any],
    arns: dict[str, str],
    payload: dict[str, Any],
) -> dict[str, Any]:
    path = tmp_path / f"{name}.asl.json"
    path.write_text(json.dumps({"StartAt": next(iter(states)), "States": states}))
    machine = sfn.deploy(name, path, arns)
    return sfn.wait(sfn.start(machine, f"{name}-run", payload), timeout_s=15)


def test_task_map_task_runs_our_handlers_with_bounded_concurrency(
    sfn: LocalStepFunctions, tmp_path: Path
) -> None:
    lock = threading.Lock()
    running, peak = [0], [0]

    def square(event: dict[str, Any], context: Any) -> int:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.3)  # long enough for the Map to start its second branch alongside
        with lock:
            running[0] -= 1
        return int(event["n"]) ** 2

    arns = {
        "Plan": sfn.register(
            "pipe-plan", lambda event, ctx: {"items": [{"n": n} for n in range(event["up_to"])]}
        ),
        "Square": sfn.register("pipe-square", square),
        "Total": sfn.register("pipe-total", lambda event, ctx: {"total": sum(event["squares"])}),
    }
    states = {
        "Plan": task("Plan", Next="Map"),
        "Map": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "MaxConcurrency": 2,
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": "Square",
                "States": {"Square": task("Square", End=True)},
            },
            "ResultPath": "$.squares",
            "Next": "Total",
        },
        "Total": task("Total", End=True),
    }
    execution = run(sfn, tmp_path, "pipe", states, arns, {"up_to": 5})
    assert execution["status"] == "SUCCEEDED", execution
    assert json.loads(execution["output"]) == {"total": 0 + 1 + 4 + 9 + 16}
    assert peak[0] == 2


def test_a_function_error_is_retried_by_its_class_name_without_sleeping(
    sfn: LocalStepFunctions, tmp_path: Path
) -> None:
    calls: list[dict[str, Any]] = []

    def flaky(event: dict[str, Any], context: Any) -> dict[str, Any]:
        calls.append(event)
        if len(calls) < 3:
            raise FlakyError(f"attempt {len(calls)}")
        return {"ok": True, "attempts": len(calls)}

    arns = {"Flaky": sfn.register("retry-flaky", flaky)}
    retry = [
        {"ErrorEquals": ["FlakyError"], "IntervalSeconds": 5, "BackoffRate": 2, "MaxAttempts": 3}
    ]
    started = time.monotonic()
    execution = run(
        sfn, tmp_path, "retry", {"Flaky": task("Flaky", Retry=retry, End=True)}, arns, {}
    )
    assert execution["status"] == "SUCCEEDED", execution
    assert json.loads(execution["output"]) == {"ok": True, "attempts": 3}
    assert sfn.sleeps == [5, 10]
    assert time.monotonic() - started < 5


def test_a_catch_on_the_error_name_routes_to_recovery_with_the_error(
    sfn: LocalStepFunctions, tmp_path: Path
) -> None:
    def explode(event: dict[str, Any], context: Any) -> None:
        raise BoomError(f"order {event['order']} exploded")

    arns = {
        "Explode": sfn.register("catch-explode", explode),
        "Recover": sfn.register(
            "catch-recover",
            lambda event, ctx: {
                "error": event["error"]["Error"],
                "message": json.loads(event["error"]["Cause"])["errorMessage"],
                "order": event["order"],
            },
        ),
    }
    catch = [{"ErrorEquals": ["BoomError"], "ResultPath": "$.error", "Next": "Recover"}]
    states = {
        "Explode": task("Explode", Catch=catch, End=True),
        "Recover": task("Recover", End=True),
    }
    execution = run(sfn, tmp_path, "catch", states, arns, {"order": "ord_1"})
    assert execution["status"] == "SUCCEEDED", execution
    assert json.loads(execution["output"]) == {
        "error": "BoomError",
        "message": "order ord_1 exploded",
        "order": "ord_1",
    }


def test_a_handler_past_its_timeout_fails_as_sandbox_timedout(
    sfn: LocalStepFunctions, tmp_path: Path
) -> None:
    release = threading.Event()

    def stuck(event: dict[str, Any], context: Any) -> str:
        release.wait(10)  # the abandoned thread ends once the test lets it go
        return "too late"

    arns = {
        "Stuck": sfn.register("timeout-stuck", stuck, timeout_s=0.5),
        "Recover": sfn.register("timeout-recover", lambda event, ctx: event["error"]),
    }
    catch = [{"ErrorEquals": ["Sandbox.Timedout"], "ResultPath": "$.error", "Next": "Recover"}]
    states = {"Stuck": task("Stuck", Catch=catch, End=True), "Recover": task("Recover", End=True)}
    started = time.monotonic()
    try:
        execution = run(sfn, tmp_path, "timeout", states, arns, {})
    finally:
        release.set()
    assert execution["status"] == "SUCCEEDED", execution
    error = json.loads(execution["output"])
    assert error["Error"] == "Sandbox.Timedout"
    assert json.loads(error["Cause"])["errorMessage"] == "Task timed out after 0.50 seconds"
    assert time.monotonic() - started < 5


def test_an_isolated_handler_runs_in_a_spawned_process_that_sees_moto(
    sfn: LocalStepFunctions, tmp_path: Path, aws: EmbeddedAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stepfunctions_handlers, "PARENT_STATE", True)
    arns = {
        "Whoami": sfn.register("iso-whoami", f"{HANDLERS}:whoami", isolated=True),
        "Boom": sfn.register("iso-boom", f"{HANDLERS}:boom", isolated=True),
        "Recover": sfn.register("iso-recover", lambda event, ctx: event),
    }
    catch = [{"ErrorEquals": ["BoomError"], "ResultPath": "$.error", "Next": "Recover"}]
    states = {
        "Whoami": task("Whoami", ResultPath="$.who", OutputPath="$", Next="Boom"),
        "Boom": task("Boom", Catch=catch, End=True),
        "Recover": task("Recover", End=True),
    }
    execution = run(sfn, tmp_path, "iso", states, arns, {"n": 7})
    assert execution["status"] == "SUCCEEDED", execution
    output = json.loads(execution["output"])
    who = output["who"]["Payload"]
    assert who["pid"] != os.getpid()
    assert who["parent_state"] is False  # spawned, not forked from this threaded process
    assert who["endpoint"] == aws.endpoint
    assert who["event"] == {"n": 7}
    assert output["error"]["Error"] == "BoomError"
    assert json.loads(output["error"]["Cause"])["errorMessage"] == "isolated 7"


def test_an_isolated_handler_past_its_timeout_is_killed_and_the_pool_recycled(
    sfn: LocalStepFunctions, tmp_path: Path
) -> None:
    arns = {
        "Whoami": sfn.register("isokill-whoami", f"{HANDLERS}:whoami", isolated=True),
        "Hang": sfn.register("isokill-hang", f"{HANDLERS}:hang", timeout_s=3, isolated=True),
    }
    catch = [{"ErrorEquals": ["Sandbox.Timedout"], "ResultPath": "$.error", "Next": "After"}]
    states = {
        "Hang": task("Hang", Catch=catch, End=True),
        "After": task("Whoami", End=True),
    }
    pidfile = tmp_path / "hang.pid"
    execution = run(sfn, tmp_path, "isokill", states, arns, {"pidfile": str(pidfile)})
    assert execution["status"] == "SUCCEEDED", execution
    output = json.loads(execution["output"])
    assert output["event"]["error"]["Error"] == "Sandbox.Timedout"
    hung = int(pidfile.read_text())
    assert output["pid"] != hung  # answered by a fresh pool
    deadline = time.monotonic() + 3
    while alive(hung) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(hung)


def alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie awaiting its parent (Linux /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_an_unsubstituted_placeholder_is_refused(sfn: LocalStepFunctions, tmp_path: Path) -> None:
    path = tmp_path / "missing.asl.json"
    states = {"A": task("AFunction", Next="B"), "B": task("BFunction", End=True)}
    path.write_text(json.dumps({"StartAt": "A", "States": states}))
    with pytest.raises(UnresolvedPlaceholder, match=r"\$\{BFunction\}"):
        sfn.deploy(
            "missing", path, {"AFunction": "arn:aws:lambda:eu-west-1:123456789012:function:a"}
        )
