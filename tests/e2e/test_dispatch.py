"""An operator dispatches the seeded depot over HTTP: the real state machine plans the demo
orders into routes that GET /v1/dispatch-runs/{id} shows, with drivers' tokens and ETAs."""

from __future__ import annotations

import time
from typing import Any

from tests.e2e.conftest import Runtime


def wait_for(runtime: Runtime, run_id: str, seconds: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        run = runtime.admin("GET", f"/v1/dispatch-runs/{run_id}")
        assert run.status_code == 200, run.text
        if run.json()["status"] != "running":
            return dict(run.json())
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} still running after {seconds} s")


def test_dispatch_turns_the_seeded_orders_into_routes(runtime: Runtime) -> None:
    depot = runtime.demo["depot_id"]

    first = runtime.admin("POST", f"/v1/depots/{depot}/dispatch")
    second = runtime.admin("POST", f"/v1/depots/{depot}/dispatch")

    assert first.status_code == second.status_code == 202, first.text
    assert first.json()["started"] is True
    assert second.json() == {"run_id": first.json()["run_id"], "started": False}
    run = wait_for(runtime, first.json()["run_id"])

    assert run["status"] == "succeeded", run
    stops = [stop for route in run["routes"] for stop in route["stops"]]
    assert len(stops) + len(run["unassigned"]) == run["figures"]["orders"] >= 40
    assert len(stops) >= 40, "the demo fleet can carry every demo order"
    assert len({s["order_id"] for s in stops}) == len(stops)
    for route in run["routes"]:
        assert route["driver_token"].startswith("drv_")
        assert all(s["kind"] in ("delivery", "locker") and s["eta"] for s in route["stops"])
    at_locker = [s for s in stops if s["kind"] == "locker"]
    assert len(at_locker) == 4, "the seeded locker orders are planned to the demo locker"
    assert {s["locker_id"] for s in at_locker} == {runtime.demo["locker_id"]}

    orders = runtime.merchant(runtime.demo["api_key"], "GET", "/v1/orders").json()["orders"]
    on_routes = {s["order_id"]: s["eta"] for s in stops}
    mine = [o for o in orders if o["order_id"] in on_routes]
    assert mine and all(o["status"] == "planned" for o in mine)
    assert all(o["eta"] == on_routes[o["order_id"]] for o in mine)


def test_dispatch_answers_404_and_401_as_the_contract_says(runtime: Runtime) -> None:
    assert runtime.admin("POST", "/v1/depots/dep_nowhere/dispatch").status_code == 404
    assert runtime.admin("GET", "/v1/dispatch-runs/run_nothing").status_code == 404
    depot = runtime.demo["depot_id"]
    as_merchant = runtime.merchant(runtime.demo["api_key"], "POST", f"/v1/depots/{depot}/dispatch")
    assert as_merchant.status_code == 401


def test_operator_sets_a_depot_dispatch_policy(runtime: Runtime) -> None:
    created = runtime.admin(
        "POST",
        "/v1/depots",
        json={"name": "Policy depot", "lat": 51.5, "lng": -0.1, "timezone": "Europe/London"},
    )
    assert created.status_code == 201, created.text
    path = f"/v1/depots/{created.json()['depot_id']}/dispatch-policy"
    policy = {"waves": ["09:30", "13:00"], "rolling": {"every_minutes": 30, "min_orders": 10}}

    stored = runtime.admin("PUT", path, json=policy)

    assert stored.status_code == 200, stored.text
    assert stored.json()["dispatch"]["waves"] == ["09:30", "13:00"]
    assert stored.json()["dispatch"]["rolling"] == {"every_minutes": 30, "min_orders": 10}
    assert stored.json()["dispatch"]["time_limit_s"] == 60
    bad_wave = runtime.admin("PUT", path, json={"waves": ["25:00"]})
    assert bad_wave.status_code == 422 and "25:00" in bad_wave.json()["error"]["message"]
    too_often = runtime.admin("PUT", path, json={"rolling": {"every_minutes": 1}})
    assert too_often.status_code == 422
    assert too_often.json()["error"]["field"] == "rolling.every_minutes"
    assert runtime.admin("PUT", "/v1/depots/dep_none/dispatch-policy", json={}).status_code == 404
