"""The optimiser function as Lambda calls it: a part planned from S3 to S3, its log lines with
the Lambda context and cold start, its metrics flushed once; called directly, just the plan."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

import pytest

from chalicelib.dispatch import optimiser
from chalicelib.routing.model import Load, Stop
from tests.unit.routing.scenarios import a_problem, at, window


@dataclass
class FakeContext:
    function_name: str = "lastmile-dev-optimiser"
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:optimiser"
    aws_request_id: str = "req-opt-1"
    memory_limit_in_mb: int = 3008

    def get_remaining_time_in_millis(self) -> int:
        return 600_000


class MemoryArtifacts:
    """The run's S3 documents, kept in a dict."""

    def __init__(self) -> None:
        self.documents: dict[str, Any] = {}

    def get_json(self, key: str) -> Any:
        return json.loads(json.dumps(self.documents[key]))

    def put_json(self, key: str, document: Any) -> str:
        self.documents[key] = document
        return key


@pytest.fixture
def artifacts(monkeypatch: pytest.MonkeyPatch) -> MemoryArtifacts:
    store = MemoryArtifacts()
    problem = a_problem(
        [
            Stop("s1", at(3, 4), demand=Load(parcels=1), windows=window(0, 500)),
            Stop("s2", at(6, 8), demand=Load(parcels=1), windows=window(0, 500)),
        ]
    )
    store.documents["runs/r1/problem-0.json"] = problem.to_dict()
    monkeypatch.setattr(optimiser, "_artifacts", lambda: store)
    return store


EVENT = {"run_id": "r1", "part": 0, "problem_key": "runs/r1/problem-0.json", "time_limit_s": 1}


def test_lambda_logs_the_context_and_flushes_the_metric_once(
    artifacts: MemoryArtifacts,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    logged = io.StringIO()  # the logger's stream was fixed when it was made, before capture
    monkeypatch.setattr(optimiser.logger.registered_handler, "stream", logged)
    answer = optimiser.handler(EVENT, FakeContext())

    assert answer["routes"] == 1 and answer["unassigned"] == 0
    assert answer["plan_key"] in artifacts.documents
    [planned] = [json.loads(line) for line in logged.getvalue().splitlines()]
    assert planned["message"] == "optimiser: part planned" and planned["engine"]
    assert planned["function_request_id"] == "req-opt-1" and "cold_start" in planned
    flushed = [json.loads(line) for line in capfd.readouterr().out.splitlines() if "_aws" in line]
    assert sum("OptimiserUnassigned" in blob for blob in flushed) == 1


def test_called_directly_it_plans_and_prints_no_metric(
    artifacts: MemoryArtifacts, capfd: pytest.CaptureFixture[str]
) -> None:
    answer = optimiser.handler(EVENT)
    assert answer["engine"] and answer["plan_key"] in artifacts.documents
    assert '"_aws"' not in capfd.readouterr().out
