"""A cargo bike that reloads, over HTTP: one route of several trips serves more parcels than one
load, the trips' times leave room for the way back and the reload, the run shows them, and the
driver's `departed` starts one trip at a time (its orders out for delivery, the next trip's
still planned)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from tests.e2e.conftest import Runtime
from tests.e2e.test_dispatch import wait_for
from tests.e2e.test_driver_events import located_order, order, post

CAPACITY = 4
ORDERS = 10
RELOAD_MINUTES = 10


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _bike(start: datetime, **overrides: Any) -> dict[str, Any]:
    bike = {
        "vehicle_id": "bike-1",
        "profile": "cargo_bike",
        "capacity": {"parcels": CAPACITY, "weight_kg": 100},
        "shift": {"start": start.isoformat(), "end": (start + timedelta(hours=8)).isoformat()},
        "max_trips": 3,
        "reload_minutes": RELOAD_MINUTES,
    }
    return bike | overrides


@pytest.fixture(scope="module")
def bike_run(runtime: Runtime) -> dict[str, Any]:
    depot = runtime.depot("Bike depot")
    start = datetime.now(UTC).replace(microsecond=0)
    fleet = runtime.admin("PUT", f"/v1/depots/{depot}/vehicles", json={"vehicles": [_bike(start)]})
    assert fleet.status_code == 200, fleet.text
    merchant = runtime.admin("POST", "/v1/merchants", json={"name": "Pedal", "depot_id": depot})
    key = merchant.json()["api_key"]
    placed = []
    for n in range(ORDERS):
        # Around the depot (51.5, -0.12), within 2 km: a bike's morning.
        lat, lng = 51.5 + 0.003 * ((n % 5) - 2), -0.12 + 0.004 * ((n // 5) * 2 - 1)
        answer = runtime.merchant(key, "POST", "/v1/orders", json=located_order(f"b{n}", lat, lng))
        assert answer.status_code == 201, answer.text
        placed.append(answer.json()["order_id"])
    started = runtime.admin("POST", f"/v1/depots/{depot}/dispatch")
    run = wait_for(runtime, started.json()["run_id"])
    assert run["status"] == "succeeded", run
    return {"depot": depot, "run": run, "key": key, "placed": placed}


def test_the_fleet_says_how_many_trips_and_how_long_a_reload(
    runtime: Runtime, bike_run: dict[str, Any]
) -> None:
    fleet = runtime.admin("GET", f"/v1/depots/{bike_run['depot']}/vehicles").json()
    [bike] = fleet["vehicles"]
    assert (bike["max_trips"], bike["reload_minutes"]) == (3, RELOAD_MINUTES)
    start = datetime.now(UTC).replace(microsecond=0)
    for bad in ({"max_trips": 0}, {"max_trips": 11}, {"reload_minutes": -1}):
        refused = runtime.admin(
            "PUT",
            f"/v1/depots/{bike_run['depot']}/vehicles",
            json={"vehicles": [_bike(start, **bad)]},
        )
        assert refused.status_code == 422, refused.text
        assert next(iter(bad)) in refused.json()["error"]["message"]
    again = runtime.admin("GET", f"/v1/depots/{bike_run['depot']}/vehicles").json()
    assert again == fleet, "a refused fleet changes nothing"


def test_one_route_of_several_trips_serves_more_than_one_load(bike_run: dict[str, Any]) -> None:
    run = bike_run["run"]
    assert run["unassigned"] == []
    [route] = run["routes"]
    assert sorted(s["order_id"] for s in route["stops"]) == sorted(bike_run["placed"])
    trips = route["trips"]
    assert len(trips) >= 2 and len(trips) >= -(-ORDERS // CAPACITY)
    assert [t["trip"] for t in trips] == list(range(1, len(trips) + 1))
    # Each trip carries at most one load, and the flat stops are in trip order.
    assert all(1 <= len(t["stops"]) <= CAPACITY for t in trips)
    assert [s["order_id"] for s in route["stops"]] == [o for t in trips for o in t["stops"]]
    for t in trips:
        assert {s["trip"] for s in route["stops"] if s["order_id"] in t["stops"]} == {t["trip"]}
    # The trips do not overlap, and between two the bike is at the depot for the reload.
    assert _moment(trips[0]["depart_at"]) == _moment(route["start_at"])
    for t in trips:
        assert _moment(t["depart_at"]) < _moment(t["return_at"])
        etas = [_moment(s["eta"]) for s in route["stops"] if s["trip"] == t["trip"]]
        assert _moment(t["depart_at"]) < min(etas) and max(etas) < _moment(t["return_at"])
    for before, after in pairwise(trips):
        reload = _moment(after["depart_at"]) - _moment(before["return_at"])
        assert reload >= timedelta(minutes=RELOAD_MINUTES) - timedelta(seconds=1)
    end = _moment(route["start_at"]) + timedelta(seconds=route["duration_s"])
    assert abs((_moment(trips[-1]["return_at"]) - end).total_seconds()) <= 2


def test_departed_starts_one_trip_at_a_time(runtime: Runtime, bike_run: dict[str, Any]) -> None:
    [route] = bike_run["run"]["routes"]
    key = bike_run["key"]
    first, second = route["trips"][0], route["trips"][1]

    left = post(runtime, route, type="departed", event_id="trip-1")
    assert left.status_code == 202, left.text
    assert left.json()["trip"] == 1
    assert left.json()["next_stop"]["order_id"] == first["stops"][0]
    assert {order(runtime, key, o)["status"] for o in first["stops"]} == {"out_for_delivery"}
    assert {order(runtime, key, o)["status"] for o in second["stops"]} == {"planned"}

    early = post(runtime, route, type="delivered", event_id="d-early", order_id=second["stops"][0])
    assert early.status_code == 409, "a parcel still at the depot cannot be delivered"

    for n, order_id in enumerate(first["stops"]):
        served = post(runtime, route, type="delivered", event_id=f"d1-{n}", order_id=order_id)
        assert served.status_code == 202, served.text
    assert order(runtime, key, second["stops"][0])["status"] == "planned"

    back_out = post(runtime, route, type="departed", event_id="trip-2")
    assert back_out.status_code == 202, back_out.text
    assert back_out.json()["trip"] == 2
    assert back_out.json()["next_stop"]["order_id"] == second["stops"][0]
    assert {order(runtime, key, o)["status"] for o in second["stops"]} == {"out_for_delivery"}
    later = [o for t in route["trips"][2:] for o in t["stops"]]
    assert all(order(runtime, key, o)["status"] == "planned" for o in later)
    timeline = order(runtime, key, second["stops"][0])["timeline"]
    assert [e["type"] for e in timeline].count("order.out_for_delivery") == 1

    view = runtime.admin("GET", f"/v1/dispatch-runs/{bike_run['run']['run_id']}").json()
    [now] = view["routes"]
    assert [t["trip"] for t in now["trips"]] == [t["trip"] for t in route["trips"]]
    left_again = _moment(now["trips"][1]["depart_at"])
    assert abs((left_again - datetime.now(UTC)).total_seconds()) < 60, "trip 2 left just now"
