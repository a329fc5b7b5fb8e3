"""The local routes exist in the local runtime only: app.py neither imports nor registers them,
and they refuse any other stage."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from chalice import Chalice
from chalice.test import Client

from chalicelib.api.local import NotTheLocalStage, serve_local_routes
from chalicelib.config import settings
from chalicelib.local.outages import Outage, VendorOutages

PROJECT_DIR = Path(__file__).resolve().parents[2]

LOCAL_ROUTES = {
    "/local/outbox",
    "/local/vendors/sendgrid/script",
    "/local/vendors/{vendor}/outage",
    "/local/aws/throttle",
    "/local/schedules/{name}",
    "/local/depots/{depot_id}/tick",
    "/local/dispatch/faults",
    "/local/dispatch-runs/{run_id}/stop",
    "/local/stripe/requests",
    "/local/stripe/checkout/sessions/{session_id}/complete",
    "/local/stripe/checkout/sessions/{session_id}/expire",
    "/local/carriers/requests",
    "/local/carriers/{carrier}/deliveries/{job_id}/status",
}


class ScriptedVendor:
    def __init__(self) -> None:
        self.scripted: list[int] = []

    def script(self, statuses: Iterable[int]) -> None:
        self.scripted.extend(statuses)


@pytest.fixture
def stage(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    yield monkeypatch
    monkeypatch.undo()
    settings.cache_clear()


@pytest.mark.parametrize("stage_name", ["prod", "local"])
def test_app_py_has_no_local_route_and_imports_no_local_module(stage_name: str) -> None:
    # A fresh interpreter: this session's other tests import the local runtime's modules.
    probe = (
        "import json, sys, app; print(json.dumps({"
        "'routes': sorted(p for p in app.app.routes if p.startswith('/local')),"
        "'modules': sorted(m for m in sys.modules"
        " if m == 'chalicelib.api.local' or m.startswith('chalicelib.local'))}))"
    )
    env = {**os.environ, "LASTMILE_STAGE": stage_name}
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT_DIR, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == {"routes": [], "modules": []}


def test_a_deployed_stage_refuses_the_local_routes(stage: pytest.MonkeyPatch) -> None:
    stage.setenv("LASTMILE_STAGE", "prod")
    settings.cache_clear()
    probe = Chalice(app_name="probe")
    with pytest.raises(NotTheLocalStage):
        serve_local_routes(probe, ScriptedVendor())
    assert not probe.routes


def test_the_local_stage_serves_them_with_its_stand_ins(stage: pytest.MonkeyPatch) -> None:
    stage.setenv("LASTMILE_STAGE", "local")
    settings.cache_clear()
    probe = Chalice(app_name="probe")
    sendgrid = ScriptedVendor()
    serve_local_routes(probe, sendgrid)
    assert set(probe.routes) == LOCAL_ROUTES
    headers = {"Content-Type": "application/json"}
    with Client(probe, stage_name="local", project_dir=str(PROJECT_DIR)) as client:
        scripted = client.http.post(
            "/local/vendors/sendgrid/script", headers=headers, body=b'{"statuses": [429, 202]}'
        )
        assert scripted.status_code == 200 and scripted.json_body == {"scripted": [429, 202]}
        assert sendgrid.scripted == [429, 202]
        empty = client.http.post(
            "/local/vendors/sendgrid/script", headers=headers, body=b'{"statuses": []}'
        )
        assert empty.status_code == 422 and sendgrid.scripted == [429, 202]
        unknown = client.http.post("/local/schedules/nightly", headers=headers, body=b"{}")
        assert unknown.status_code == 404
        assert "locker_sweep, webhook_retries, reconcile" in unknown.json_body["error"]["message"]


def test_an_outage_is_begun_on_the_named_stand_in_only(stage: pytest.MonkeyPatch) -> None:
    stage.setenv("LASTMILE_STAGE", "local")
    settings.cache_clear()
    probe = Chalice(app_name="probe")
    sendgrid, sns = Outage(), Outage()
    serve_local_routes(probe, ScriptedVendor(), VendorOutages({"sendgrid": sendgrid, "sns": sns}))
    headers = {"Content-Type": "application/json"}
    with Client(probe, stage_name="local", project_dir=str(PROJECT_DIR)) as client:
        down = client.http.post(
            "/local/vendors/sendgrid/outage",
            headers=headers,
            body=b'{"status": 503, "seconds": 60}',
        )
        assert down.status_code == 200, down.body
        assert down.json_body == {"vendor": "sendgrid", "status": 503, "seconds": 60}
        assert sendgrid.status() == 503 and sns.status() is None
        no_stand_in = client.http.post(
            "/local/vendors/stripe/outage", headers=headers, body=b'{"status": 503, "seconds": 5}'
        )
        assert no_stand_in.status_code == 404
        assert no_stand_in.json_body["error"]["code"] == "unknown_vendor"
        not_an_outage = client.http.post(
            "/local/vendors/sns/outage", headers=headers, body=b'{"status": 404, "seconds": 5}'
        )
        assert not_an_outage.status_code == 422 and sns.status() is None
        over = client.http.post(
            "/local/vendors/sendgrid/outage", headers=headers, body=b'{"status": 503, "seconds": 0}'
        )
        assert over.status_code == 200 and sendgrid.status() is None


class RecordingThrottle:
    def __init__(self) -> None:
        self.windows: list[tuple[str | None, float, float]] = []

    def throttle(self, table: str | None, seconds: float, rate: float) -> None:
        self.windows.append((table, seconds, rate))


def test_the_throttle_switch_takes_a_window_and_refuses_bad_ones(
    stage: pytest.MonkeyPatch,
) -> None:
    stage.setenv("LASTMILE_STAGE", "local")
    settings.cache_clear()
    probe = Chalice(app_name="probe")
    throttle = RecordingThrottle()
    serve_local_routes(probe, ScriptedVendor(), throttle=throttle)
    headers = {"Content-Type": "application/json"}
    with Client(probe, stage_name="local", project_dir=str(PROJECT_DIR)) as client:
        set_on = client.http.post(
            "/local/aws/throttle",
            headers=headers,
            body=b'{"table": "lastmile-main", "seconds": 30, "rate": 0.5}',
        )
        assert set_on.status_code == 200
        assert set_on.json_body == {"table": "lastmile-main", "seconds": 30, "rate": 0.5}
        every_table = client.http.post(
            "/local/aws/throttle", headers=headers, body=b'{"seconds": 5}'
        )
        assert every_table.status_code == 200
        for bad in (b'{"seconds": 0}', b'{"seconds": 5, "rate": 1.5}', b'{"rate": 1}'):
            refused = client.http.post("/local/aws/throttle", headers=headers, body=bad)
            assert refused.status_code == 422, bad
    assert throttle.windows == [("lastmile-main", 30, 0.5), (None, 5, 1.0)]


def test_without_a_throttle_switch_the_route_is_404(stage: pytest.MonkeyPatch) -> None:
    stage.setenv("LASTMILE_STAGE", "local")
    settings.cache_clear()
    probe = Chalice(app_name="probe")
    serve_local_routes(probe, ScriptedVendor())
    with Client(probe, stage_name="local", project_dir=str(PROJECT_DIR)) as client:
        answer = client.http.post(
            "/local/aws/throttle",
            headers={"Content-Type": "application/json"},
            body=b'{"seconds": 5}',
        )
    assert answer.status_code == 404
