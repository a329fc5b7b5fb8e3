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


def test_a_vendor_outage_is_taken_and_ended_and_an_unknown_vendor_is_404(runtime: Runtime) -> None:
    def outage(vendor: str, body: dict[str, int]) -> requests.Response:
        return requests.post(runtime.url(f"/local/vendors/{vendor}/outage"), json=body, timeout=10)

    for vendor in ("sendgrid", "sns", "stripe"):
        down = outage(vendor, {"status": 503, "seconds": 30})
        assert down.status_code == 200, down.text
        assert outage(vendor, {"status": 503, "seconds": 0}).status_code == 200
    unknown = outage("pigeons", {"status": 503, "seconds": 5})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "unknown_vendor"
    assert outage("sendgrid", {"status": 418, "seconds": 5}).status_code == 422
