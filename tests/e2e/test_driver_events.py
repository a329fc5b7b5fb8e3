"""A dispatched route driven stop by stop over HTTP, as a driver's phone does it: statuses and
ETAs move, retried events count once, a token opens its own route only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.builders import an_order
from tests.e2e.conftest import Runtime
from tests.e2e.test_dispatch import wait_for


def located_order(external_id: str, lat: float, lng: float) -> dict[str, Any]:
    body = an_order(external_id=external_id)
    body["address"] |= {"lat": lat, "lng": lng}
    return body


def dispatched(
    runtime: Runtime,
    vehicles: int,
    orders: int,
    phone: str | None = None,
    make_order: Callable[[str, float, float], dict[str, Any]] = located_order,
) -> dict[str, Any]:
    """A depot of its own with `vehicles` vans, `orders` orders (`make_order(external_id, lat,
    lng)`), dispatched: the finished run, the merchant's key and the orders as created."""
    depot = runtime.depot("Driver depot", vans=vehicles)
    merchant = runtime.admin("POST", "/v1/merchants", json={"name": "Driven", "depot_id": depot})
    key = merchant.json()["api_key"]
    created = []
    for n in range(orders):
        body = make_order(f"drive-{depot}-{n}", 51.5 + 0.004 * (n + 1), -0.12 + 0.003 * n)
        if phone:
            body["customer"] |= {"phone": phone}
        answer = runtime.merchant(key, "POST", "/v1/orders", json=body)
        assert answer.status_code == 201, answer.text
        created.append(answer.json())
    run = wait_for(runtime, runtime.admin("POST", f"/v1/depots/{depot}/dispatch").json()["run_id"])
    assert run["status"] == "succeeded", run
    return {"run": run, "api_key": key, "orders": created}


@pytest.fixture(scope="module")
def one_route(runtime: Runtime) -> dict[str, Any]:
    found = dispatched(runtime, vehicles=1, orders=4)
    [route] = found["run"]["routes"]
    # Where each order is (dispatched() places order n at these coordinates).
    at = {
        o["order_id"]: (51.5 + 0.004 * (n + 1), -0.12 + 0.003 * n)
        for n, o in enumerate(found["orders"])
    }
    return {"route": route, "api_key": found["api_key"], "at": at, "run_id": found["run"]["run_id"]}


def post(runtime: Runtime, route: dict[str, Any], token: str | None = None, **event: Any):
    headers = {"Authorization": f"Bearer {token or route['driver_token']}"}
    return requests.post(
        runtime.url(f"/v1/routes/{route['route_id']}/events"),
        json=event,
        headers=headers,
        timeout=30,
    )


def order(runtime: Runtime, key: str, order_id: str) -> dict[str, Any]:
    return dict(runtime.merchant(key, "GET", f"/v1/orders/{order_id}").json())


def test_a_route_driven_stop_by_stop(runtime: Runtime, one_route: dict[str, Any]) -> None:
    route, key = one_route["route"], one_route["api_key"]
    first, second, third, fourth = (s["order_id"] for s in route["stops"])

    departures = [post(runtime, route, type="departed", event_id="dep-1") for _ in range(3)]
    assert [r.status_code for r in departures] == [202, 202, 202]
    assert [r.json()["outcome"] for r in departures] == ["applied", "duplicate", "duplicate"]
    assert departures[0].json()["next_stop"]["order_id"] == first
    assert order(runtime, key, third)["status"] == "out_for_delivery"

    delivered = post(
        runtime,
        route,
        type="delivered",
        event_id="dlv-1",
        order_id=first,
        proof={"recipient_name": "Grace", "safe_place": "porch"},
    )
    assert delivered.status_code == 202, delivered.text
    assert delivered.json()["next_stop"]["order_id"] == second
    done = order(runtime, key, first)
    assert done["status"] == "delivered"
    assert [e["type"] for e in done["timeline"]].count("order.delivered") == 1
    again = post(runtime, route, type="delivered", event_id="dlv-1", order_id=first)
    assert again.json()["outcome"] == "duplicate"
    twice = post(runtime, route, type="delivered", event_id="dlv-other", order_id=first)
    assert twice.status_code == 409, "a delivered order cannot be delivered again"

    no_reason = post(runtime, route, type="failed", event_id="f-0", order_id=second)
    assert no_reason.status_code == 422
    failed = post(runtime, route, type="failed", event_id="f-1", order_id=second, reason="not_home")
    assert failed.status_code == 202, failed.text
    assert failed.json()["status"] == "ready", "rescheduled for the depot's next run"
    retried = order(runtime, key, second)
    assert [e["type"] for e in retried["timeline"][-2:]] == ["order.failed", "order.rescheduled"]
    assert "not_home" in retried["timeline"][-2]["note"]
    assert retried["failed_attempts"] == 1 and "route_id" not in retried
    assert done["first_attempt"] is True

    def live_eta(order_id: str) -> str:
        """The stop's live ETA, as the run's view shows the operator."""
        run = runtime.admin("GET", f"/v1/dispatch-runs/{one_route['run_id']}").json()
        return next(
            s["eta"] for r in run["routes"] for s in r["stops"] if s["order_id"] == order_id
        )

    before, told = live_eta(fourth), order(runtime, key, fourth)["eta"]
    # Most of a kilometre back the way it came, a moment after the second stop (where its
    # failed attempt put the van; the solver chooses which end of the street it starts at):
    # later ETAs, and near enough to be a fix a van could give.
    (lat1, lng1), (lat2, lng2) = one_route["at"][first], one_route["at"][second]
    lat, lng = lat2 + 1.5 * (lat1 - lat2), lng2 + 1.5 * (lng1 - lng2)
    back = post(runtime, route, type="location", event_id="loc-1", lat=lat, lng=lng)
    assert back.status_code == 202, back.text
    assert back.json()["fix"] == "used", back.json()
    assert live_eta(fourth) > before, "the van went back: later ETAs"
    # The order shows the ETA last told: the live one once it moved past 5 minutes.
    shown = order(runtime, key, fourth)["eta"]
    assert shown in (told, live_eta(fourth))


def test_a_driver_token_opens_only_its_own_route(
    runtime: Runtime, one_route: dict[str, Any]
) -> None:
    route = one_route["route"]
    others = dispatched(runtime, vehicles=2, orders=6)["run"]["routes"]
    other = next(r for r in others if r["route_id"] != route["route_id"])

    stolen = post(runtime, route, token=other["driver_token"], type="departed")
    assert stolen.status_code == 401
    assert post(runtime, route, token="drv_guess", type="departed").status_code == 401
    unknown = requests.post(
        runtime.url("/v1/routes/rte_nothing_000/events"),
        json={"type": "departed"},
        timeout=30,
    )
    assert unknown.status_code == 401
    elsewhere = post(runtime, route, type="arrived", order_id=other["stops"][0]["order_id"])
    assert elsewhere.status_code == 404


def test_a_proof_photo_is_uploaded_with_a_presigned_post(
    runtime: Runtime, one_route: dict[str, Any]
) -> None:
    route = one_route["route"]
    headers = {"Authorization": f"Bearer {route['driver_token']}"}
    upload = requests.post(
        runtime.url(f"/v1/routes/{route['route_id']}/proof-uploads"),
        json={"order_id": route["stops"][2]["order_id"]},
        headers=headers,
        timeout=30,
    )
    assert upload.status_code == 201, upload.text
    form = upload.json()
    posted = requests.post(
        form["url"],
        data=form["fields"],
        files={"file": ("proof.jpg", b"\xff\xd8\xff\xe0 a jpeg" * 1000)},
        timeout=30,
    )
    assert posted.status_code == 204, posted.text
    assert form["photo_key"] == form["key"]
    assert form["key"].startswith(f"proofs/{route['route_id']}/")


def test_a_wrong_token_is_refused_before_the_body_is_read(
    runtime: Runtime, one_route: dict[str, Any]
) -> None:
    route = one_route["route"]
    bodies = [b"{not json", b"[" * 100_000 + b"]" * 100_000, b"x" * 2_000_000, b'{"type": 7}']
    for path in ("events", "proof-uploads"):
        for body in bodies:
            for token in ("drv_guess", None):
                answer = requests.post(
                    runtime.url(f"/v1/routes/{route['route_id']}/{path}"),
                    data=body,
                    headers={"Authorization": f"Bearer {token}"} if token else {},
                    timeout=30,
                )
                assert answer.status_code == 401, (path, body[:20], answer.text)
                assert answer.json()["error"]["code"] == "unauthorized"
    garbage = requests.post(
        runtime.url(f"/v1/routes/{route['route_id']}/events"),
        data=b"{not json",
        headers={"Authorization": f"Bearer {route['driver_token']}"},
        timeout=30,
    )
    assert garbage.status_code == 400, "the right token reaches the parser"


def test_implausible_pings_are_kept_but_move_no_eta(runtime: Runtime) -> None:
    found = dispatched(runtime, vehicles=1, orders=2)
    [route] = found["run"]["routes"]
    key, last = found["api_key"], route["stops"][-1]["order_id"]
    assert post(runtime, route, type="departed", event_id="dep").status_code == 202
    before = order(runtime, key, last)["eta"]

    pings = [
        {"lat": 0.0, "lng": 0.0},
        {"lat": 51.51, "lng": -0.12, "at": "9999-12-31T23:59:59-05:00"},
        {"lat": 51.51, "lng": -0.12, "at": "9999-01-01T00:00:00Z"},
        {"lat": 55.95, "lng": -3.19},  # 500 km off, seconds after leaving the depot
    ]
    answers = [post(runtime, route, type="location", **ping) for ping in pings]

    assert [a.status_code for a in answers] == [202] * len(pings), [a.text for a in answers]
    assert [a.json()["ignored"] for a in answers] == [
        "null_island",
        "clock_ahead",
        "clock_ahead",
        "outside_area",
    ]
    assert order(runtime, key, last)["eta"] == before, "no customer is told a wrong ETA"
    code = next(o["tracking_code"] for o in found["orders"] if o["order_id"] == last)
    tracked = requests.get(runtime.url(f"/v1/track/{code}"), timeout=30)
    assert tracked.status_code == 200
    assert tracked.json()["eta"] == before, "the customer and the merchant read one ETA"
