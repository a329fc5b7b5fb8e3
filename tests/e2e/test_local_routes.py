"""The local runtime's own routes: the scheduled jobs run on demand, as of a given time, and
what it captured instead of sending."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import requests

from tests.e2e.conftest import Runtime


def run(runtime: Runtime, name: str, body: dict[str, str]) -> requests.Response:
    return requests.post(runtime.url(f"/local/schedules/{name}"), json=body, timeout=60)


def test_each_scheduled_job_runs_on_demand(runtime: Runtime) -> None:
    at = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    sweep = run(runtime, "locker_sweep", {"time": at})
    assert sweep.status_code == 200, sweep.text
    assert sweep.json()["function"] == "locker_sweep"
    assert set(sweep.json()["result"]) == {"reminded", "expired"}
    retries = run(runtime, "webhook_retries", {})
    assert retries.status_code == 200, retries.text
    assert retries.json()["function"] == "webhook_retries"
    assert retries.json()["result"]["attempted"] >= 0


def test_an_unknown_job_or_a_time_without_its_zone_is_refused(runtime: Runtime) -> None:
    unknown = run(runtime, "nightly", {})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"]
    naive = run(runtime, "locker_sweep", {"time": "2026-01-01T09:00:00"})
    assert naive.status_code == 422


def test_the_outbox_lists_the_captured_messages(runtime: Runtime) -> None:
    answer = requests.get(runtime.url("/local/outbox"), timeout=10)
    assert answer.status_code == 200
    assert isinstance(answer.json()["messages"], list)
