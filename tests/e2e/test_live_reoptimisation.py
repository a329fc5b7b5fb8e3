"""Live re-optimisation over HTTP: a route on the road takes an urgent order when its depot says
so (the driver's stop list changes after a depot visit, the served prefix does not, the other
customers' ETAs move and each is told once); when it does not, the order waits or takes a new
route. And the route read back: its driver's token and the operator's key, nobody else."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import requests

from tests.e2e.conftest import ADMIN_KEY, Runtime
from tests.e2e.test_dispatch import wait_for
from tests.e2e.test_driver_events import dispatched, located_order, order, post

RETIMED = "delivery time has changed"


def _local(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(ZoneInfo("Europe/London")).strftime("%H:%M")


def _read(runtime: Runtime, route_id: str, token: str) -> requests.Response:
    return requests.get(
        runtime.url(f"/v1/routes/{route_id}"),
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def _on_the_road(runtime: Runtime, insert: bool) -> dict[str, Any]:
    """One van out on a route of three orders, the first served; the depot's policy set."""
    found = dispatched(runtime, vehicles=1, orders=3)
    depot = found["run"]["depot_id"]
    policy = {"time_limit_s": 5, "insert_into_live_routes": insert}
    answer = runtime.admin("PUT", f"/v1/depots/{depot}/dispatch-policy", json=policy)
    assert answer.status_code == 200, answer.text
    assert answer.json()["dispatch"]["insert_into_live_routes"] is insert
    [route] = found["run"]["routes"]
    first = route["stops"][0]["order_id"]
    assert post(runtime, route, type="departed", event_id=f"dep-{depot}").status_code == 202
    served = post(runtime, route, type="delivered", order_id=first, event_id=f"del-{depot}")
    assert served.status_code == 202, served.text
    return found | {"depot": depot, "route": route, "first": first}


def _urgent(runtime: Runtime, found: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """An order next to the route's stops, and the run that plans it."""
    body = located_order(f"urgent-{found['depot']}", 51.507, -0.115)
    created = runtime.merchant(found["api_key"], "POST", "/v1/orders", json=body)
    assert created.status_code == 201, created.text
    started = runtime.admin("POST", f"/v1/depots/{found['depot']}/dispatch")
    run = wait_for(runtime, started.json()["run_id"])
    assert run["status"] == "succeeded", run
    return created.json()["order_id"], run


def _retimed(runtime: Runtime, order_id: str, wait: bool = False) -> list[dict[str, Any]]:
    """The order's captured re-timing messages (with `wait`, once one came, and a moment more
    for a second: the outbox stream delivers asynchronously, behind all the runtime sends)."""
    deadline = time.monotonic() + (90 if wait else 0)
    while True:
        messages = requests.get(runtime.url("/local/outbox"), timeout=10).json()["messages"]
        found = [
            m
            for m in messages
            if m.get("order_id") == order_id and RETIMED in (m.get("subject") or m["body"])
        ]
        if not wait or found or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if wait and found:
        time.sleep(2)
        return _retimed(runtime, order_id)
    return found


def test_an_urgent_order_joins_the_route_on_the_road(runtime: Runtime) -> None:
    found = _on_the_road(runtime, insert=True)
    route, key = found["route"], found["api_key"]
    before = _read(runtime, route["route_id"], route["driver_token"])
    assert before.status_code == 200, before.text
    carried = [s["order_id"] for s in before.json()["stops"] if s["status"] == "pending"]
    told_before = {o: order(runtime, key, o)["eta"] for o in carried}

    urgent, run = _urgent(runtime, found)

    # No new route: the order went onto the van already out, planned on its route.
    assert run["routes"] == [] and run["unassigned"] == [], run
    assert run["figures"]["inserted_into_live_routes"] == 1
    shown = order(runtime, key, urgent)
    assert shown["status"] == "planned" and shown["eta"]
    after = _read(runtime, route["route_id"], route["driver_token"])
    assert after.status_code == 200, after.text
    stops = after.json()["stops"]
    # The served prefix is as it was; then the rest, through the depot to load the new parcel:
    # a second trip of the route, the urgent order on it.
    assert stops[0] == before.json()["stops"][0] and stops[0]["status"] == "done"
    assert [t["trip"] for t in after.json()["trips"]] == [1, 2]
    by_id = {s["order_id"]: s for s in stops}
    assert by_id[urgent]["trip"] == 2 and by_id[found["first"]]["trip"] == 1
    assert set(by_id) == {found["first"], urgent, *carried}
    assert all(s["status"] == "pending" for s in stops[1:])
    assert after.json()["version"] > before.json()["version"]

    # The customers whose stop now comes after the depot visit hold a new ETA, and each of
    # them is told once.
    after_depot = [s["order_id"] for s in stops if s["trip"] == 2 and s["order_id"] in carried]
    assert after_depot
    for order_id in carried:
        shown = order(runtime, key, order_id)
        assert shown["status"] == "out_for_delivery"
        if order_id in after_depot:
            assert shown["eta"] != told_before[order_id]
            told = _retimed(runtime, order_id, wait=True)
            # One message, on each channel the customer has (this one's phone is not valid).
            assert [m["channel"] for m in told] == ["email"], told
            # The message, the page and the API give one window.
            window = shown["eta_window"]
            email = next(m for m in told if m["channel"] == "email")
            assert f"between {_local(window['start'])} and {_local(window['end'])}" in email["body"]
            tracking = requests.get(
                runtime.url(f"/v1/track/{shown['tracking_code']}"), timeout=10
            ).json()
            assert tracking["eta"] == shown["eta"]
    # Back at the depot, the van leaves loaded on its second trip: the urgent order is out.
    served = [s["order_id"] for s in stops if s["trip"] == 1 and s["status"] == "pending"]
    for n, order_id in enumerate(served):
        done = post(runtime, route, type="delivered", order_id=order_id, event_id=f"d{n}-{urgent}")
        assert done.status_code == 202, done.text
    again = post(runtime, route, type="departed", event_id=f"dep2-{found['depot']}")
    assert again.status_code == 202, again.text
    assert again.json()["trip"] == 2
    assert order(runtime, key, urgent)["status"] == "out_for_delivery"
    final = _read(runtime, route["route_id"], route["driver_token"]).json()
    assert final["on_trip"] == 2
    assert [s["order_id"] for s in final["stops"]] == [s["order_id"] for s in stops]


def test_without_live_insertion_the_route_on_the_road_is_left_alone(runtime: Runtime) -> None:
    found = _on_the_road(runtime, insert=False)
    route = found["route"]
    before = _read(runtime, route["route_id"], route["driver_token"]).json()

    urgent, run = _urgent(runtime, found)

    after = _read(runtime, route["route_id"], route["driver_token"]).json()
    assert [s["order_id"] for s in after["stops"]] == [s["order_id"] for s in before["stops"]]
    assert run["figures"]["inserted_into_live_routes"] == 0
    # A new route of the van after it is back, or waiting for it: never the route out now.
    new_routes = [r for r in run["routes"] if any(s["order_id"] == urgent for s in r["stops"])]
    waiting = {u["order_id"]: u["reason"] for u in run["unassigned"]}
    assert new_routes or waiting.get(urgent) == "fleet_busy", run
    for new in new_routes:
        assert new["route_id"] != route["route_id"]
        assert new["start_at"] >= before["stops"][-1]["eta"]


def test_a_route_reads_back_for_its_driver_and_the_operator_only(runtime: Runtime) -> None:
    found = dispatched(runtime, vehicles=1, orders=3)
    [mine] = found["run"]["routes"]
    [elsewhere] = dispatched(runtime, vehicles=1, orders=1)["run"]["routes"]
    driver = _read(runtime, mine["route_id"], mine["driver_token"])
    assert driver.status_code == 200, driver.text
    view = driver.json()
    assert [s["order_id"] for s in view["stops"]] == [s["order_id"] for s in mine["stops"]]
    assert all(s["status"] == "pending" and s["eta"] for s in view["stops"])
    assert all(s["address"]["line1"] and s["recipient"] for s in view["stops"])
    assert "position" not in view
    for stop in view["stops"]:
        assert set(stop["address"]) <= {"line1", "line2", "city", "postcode"}
        assert "email" not in str(stop) and "phone" not in str(stop)

    # The operator sees it too, with where the van was last seen.
    assert post(runtime, mine, type="location", lat=51.503, lng=-0.119).status_code == 202
    operator = _read(runtime, mine["route_id"], ADMIN_KEY)
    assert operator.status_code == 200, operator.text
    assert operator.json()["position"]["lat"] == 51.503
    assert (
        operator.json()["stops"]
        == _read(runtime, mine["route_id"], mine["driver_token"]).json()["stops"]
    )

    # Another route's token, a merchant's key, none: 401 and nothing shown; unknown: 404.
    other = _read(runtime, mine["route_id"], elsewhere["driver_token"])
    assert other.status_code == 401 and other.json()["error"]["code"] == "unauthorized"
    assert _read(runtime, elsewhere["route_id"], elsewhere["driver_token"]).status_code == 200
    assert _read(runtime, mine["route_id"], found["api_key"]).status_code == 401
    bare = requests.get(runtime.url(f"/v1/routes/{mine['route_id']}"), timeout=30)
    assert bare.status_code == 401
    assert _read(runtime, "rte_0000000000000000_999", ADMIN_KEY).status_code == 404
