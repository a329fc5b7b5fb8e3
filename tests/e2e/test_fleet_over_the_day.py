"""One fleet over a day of dispatch, over HTTP: three waves and a rolling window, each run
planning a vehicle only after the routes it is already out on come back, never twice at once;
what the fleet has no time for waits as fleet_busy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import requests

from tests.e2e.conftest import Runtime
from tests.e2e.test_dispatch import wait_for
from tests.e2e.test_driver_events import located_order


def _tick(runtime: Runtime, depot: str, trigger: str) -> dict[str, Any]:
    answer = requests.post(
        runtime.url(f"/local/depots/{depot}/tick"), json={"trigger": trigger}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _place(runtime: Runtime, key: str, depot: str, wave: int, count: int) -> list[str]:
    ids = []
    for n in range(count):
        body = located_order(
            f"day-{depot}-{wave}-{n}", 51.5 + 0.006 * (n + 1), -0.12 + 0.004 * (n - 2)
        )
        answer = runtime.merchant(key, "POST", "/v1/orders", json=body)
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["order_id"])
    return ids


def _interval(route: dict[str, Any]) -> tuple[datetime, datetime]:
    start = datetime.fromisoformat(route["start_at"].replace("Z", "+00:00"))
    return start, start + timedelta(seconds=route["duration_s"])


def test_three_waves_and_a_rolling_window_share_one_fleet(runtime: Runtime) -> None:
    # Two vans of 3 parcels on a 40-minute shift: each wave of 5 orders needs both of them,
    # and the day's 20 orders more time than they have.
    depot = runtime.depot("Day depot")
    start = datetime.now(UTC).replace(microsecond=0)
    shift = {"start": start.isoformat(), "end": (start + timedelta(minutes=40)).isoformat()}
    fleet = [
        {
            "vehicle_id": f"van-{n}",
            "profile": "van",
            "capacity": {"parcels": 3, "weight_kg": 30},
            "shift": shift,
        }
        for n in range(2)
    ]
    assert runtime.admin("PUT", f"/v1/depots/{depot}/vehicles", json={"vehicles": fleet}).ok
    merchant = runtime.admin("POST", "/v1/merchants", json={"name": "Daylong", "depot_id": depot})
    key = merchant.json()["api_key"]

    runs = []
    for wave, trigger in enumerate(["wave", "wave", "wave", "rolling"]):
        placed = _place(runtime, key, depot, wave, 5)
        ticked = _tick(runtime, depot, trigger)
        assert ticked["started"] is True, ticked
        run = wait_for(runtime, ticked["run_id"])
        assert run["status"] == "succeeded", run
        runs.append((run, placed))

    routes = [route for run, _ in runs for route in run["routes"]]
    by_vehicle: dict[str, list[tuple[datetime, datetime]]] = {}
    for route in routes:
        by_vehicle.setdefault(route["vehicle_id"], []).append(_interval(route))
    assert set(by_vehicle) <= {"van-0", "van-1"} and len(routes) >= 3
    for vehicle, intervals in by_vehicle.items():
        intervals.sort()
        for (_, end), (start, _) in pairwise(intervals):
            assert start >= end, f"{vehicle} planned onto a route before its last one is back"

    # Each later run planned a van only after that van's routes of earlier runs come back.
    for n, (run, _) in enumerate(runs[1:], start=1):
        earlier = [r for past, _ in runs[:n] for r in past["routes"]]
        for route in run["routes"]:
            back = max(
                (_interval(r)[1] for r in earlier if r["vehicle_id"] == route["vehicle_id"]),
                default=None,
            )
            assert back is None or _interval(route)[0] >= back, (n, route["vehicle_id"])

    # Every order of every wave is planned once or waits for the fleet, nothing lost.
    planned = [s["order_id"] for r in routes for s in r["stops"]]
    assert len(planned) == len(set(planned))
    waiting = {u["order_id"]: u["reason"] for run, _ in runs for u in run["unassigned"]}
    for _, placed in runs:
        for order_id in placed:
            assert order_id in planned or order_id in waiting, order_id
    # Those left out by a run whose vans were out wait as fleet_busy, ready for the next run.
    later_waiting = {u["order_id"]: u["reason"] for run, _ in runs[1:] for u in run["unassigned"]}
    assert later_waiting and set(later_waiting.values()) == {"fleet_busy"}
    last_waiting = [u["order_id"] for u in runs[-1][0]["unassigned"]]
    for order_id in last_waiting[:3]:
        shown = runtime.merchant(key, "GET", f"/v1/orders/{order_id}").json()
        assert shown["status"] == "ready", "fleet_busy is transient: ready for the next run"


def test_a_fleet_takes_its_drivers_breaks_and_refuses_one_outside_the_shift(
    runtime: Runtime,
) -> None:
    depot = runtime.depot("Break depot")
    start = datetime.now(UTC).replace(microsecond=0)
    lunch = {
        "earliest": (start + timedelta(hours=3)).isoformat(),
        "latest": (start + timedelta(hours=5)).isoformat(),
        "minutes": 30,
    }
    van = {
        "vehicle_id": "van-0",
        "profile": "van",
        "capacity": {"parcels": 10, "weight_kg": 100},
        "shift": {
            "start": start.isoformat(),
            "end": (start + timedelta(hours=8)).isoformat(),
            "breaks": [lunch],
        },
    }
    path = f"/v1/depots/{depot}/vehicles"
    stored = runtime.admin("PUT", path, json={"vehicles": [van]})
    assert stored.status_code == 200, stored.text
    assert runtime.admin("GET", path).json()["vehicles"][0]["shift"]["breaks"] == [lunch]
    late = dict(lunch, earliest=(start + timedelta(hours=9)).isoformat())
    van["shift"]["breaks"] = [late]
    refused = runtime.admin("PUT", path, json={"vehicles": [van]})
    assert refused.status_code == 422 and "breaks.0" in refused.json()["error"]["message"]
    assert runtime.admin("GET", path).json()["vehicles"][0]["shift"]["breaks"] == [lunch]
