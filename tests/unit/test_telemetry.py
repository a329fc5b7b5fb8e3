"""Every kind of function gets Powertools through the middleware: its Lambda context and cold
start on the log lines, and its metrics flushed once per invocation, even when it fails."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from aws_lambda_powertools.metrics import MetricUnit
from chalice import Chalice, Rate
from chalice.app import CloudWatchEvent
from chalice.test import Client

from chalicelib.telemetry import logger, metrics, observe_invocation


@dataclass
class FakeContext:
    function_name: str
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:probe"
    aws_request_id: str = "req-1"
    memory_limit_in_mb: int = 512

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


SCHEDULED = {
    "version": "0",
    "id": "1",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-01-01T00:00:00Z",
    "region": "eu-west-1",
    "resources": [],
    "detail": {},
}


@pytest.fixture
def probe(monkeypatch: pytest.MonkeyPatch) -> tuple[Chalice, list[dict[str, Any]]]:
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    app = Chalice(app_name="probe")
    app.register_middleware(observe_invocation, "all")
    seen: list[dict[str, Any]] = []

    def work(kind: str) -> None:
        seen.append(logger.get_current_keys())
        metrics.add_metric(name=f"probe_{kind}", unit=MetricUnit.Count, value=1)

    @app.schedule(Rate(1, unit=Rate.MINUTES), name="every_minute")
    def every_minute(event: CloudWatchEvent) -> dict[str, str]:
        work("scheduled")
        return {"time": event.time}

    @app.lambda_function(name="task")
    def task(event: dict[str, Any], context: Any) -> dict[str, Any]:
        work("task")
        if event.get("fail"):
            raise ValueError("the task failed")
        return {"echo": event, "remaining": context and context.get_remaining_time_in_millis()}

    @app.route("/ping")
    def ping() -> dict[str, bool]:
        work("http")
        return {"pong": True}

    return app, seen


def flushed(out: str, metric: str) -> int:
    """How many EMF blobs on stdout carry `metric`."""
    blobs = [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]
    return sum(metric in blob for blob in blobs)


def test_the_app_puts_every_function_under_the_middleware() -> None:
    from app import app

    assert (observe_invocation, "all") in app.middleware_handlers


def test_a_scheduled_function_logs_its_context_and_flushes_once(
    probe: tuple[Chalice, list[dict[str, Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    app, seen = probe
    handler = app.handler_map["every_minute"]
    assert handler(SCHEDULED, FakeContext("every_minute")) == {"time": SCHEDULED["time"]}
    assert handler(SCHEDULED, FakeContext("every_minute", aws_request_id="req-2"))
    first, second = seen
    assert first["function_name"] == "every_minute" and first["function_request_id"] == "req-1"
    assert isinstance(first["cold_start"], bool) and second["cold_start"] is False
    assert second["function_request_id"] == "req-2"
    assert flushed(capsys.readouterr().out, "probe_scheduled") == 2


def test_a_failing_task_still_flushes_and_raises(
    probe: tuple[Chalice, list[dict[str, Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    app, seen = probe
    handler = app.handler_map["task"]
    assert handler({"n": 1}, FakeContext("task")) == {"echo": {"n": 1}, "remaining": 60_000}
    with pytest.raises(ValueError, match="the task failed"):
        handler({"fail": True}, FakeContext("task"))
    assert [keys["function_name"] for keys in seen] == ["task", "task"]
    assert flushed(capsys.readouterr().out, "probe_task") == 2


def test_a_handler_called_without_a_context_still_runs(
    probe: tuple[Chalice, list[dict[str, Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    app, _ = probe
    assert app.handler_map["task"]({"n": 2}, None) == {"echo": {"n": 2}, "remaining": None}
    assert flushed(capsys.readouterr().out, "probe_task") == 1


def test_an_http_request_logs_the_api_functions_context(
    probe: tuple[Chalice, list[dict[str, Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    app, seen = probe
    with Client(app) as client:
        assert client.http.get("/ping").json_body == {"pong": True}
    [keys] = seen
    assert keys["function_name"] == "api_handler" and "cold_start" in keys
    assert flushed(capsys.readouterr().out, "probe_http") == 1


def test_where_metrics_are_off_nothing_is_printed_not_even_the_cold_start(
    probe: tuple[Chalice, list[dict[str, Any]]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The local stage switches metrics off; its stdout is a CLI's output (dispatch-bench's
    JSON), which a cold-start metric printed by Powertools regardless would break."""
    from aws_lambda_powertools.metrics.provider import cold_start

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    cold_start.reset_cold_start_flag()
    app, _ = probe
    assert app.handler_map["task"]({"n": 3}, FakeContext("task"))["echo"] == {"n": 3}
    assert '"_aws"' not in capsys.readouterr().out
