"""Operators read back what they created, merchants page through their own orders and cancel
them, and every list pages by a sealed cursor that opens for no other list or tenant."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from tests.builders import an_order
from tests.e2e.conftest import Runtime
from tests.e2e.test_dispatch import wait_for
from tests.e2e.test_driver_events import dispatched, post
from tests.e2e.test_notifications import PHONE, messages_for


def every_page(
    call: Any, path: str, limit: int, **params: Any
) -> tuple[list[list[dict[str, Any]]], list[str | None]]:
    """Each page of a list, following next_cursor to the end, and the cursors handed out."""
    pages: list[list[dict[str, Any]]] = []
    cursors: list[str | None] = []
    cursor = None
    for _ in range(100):
        query = {**params, "limit": limit} | ({"cursor": cursor} if cursor else {})
        answer = call("GET", path, params=query)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert set(body) >= {"items", "next_cursor"}
        pages.append(body["items"])
        cursor = body["next_cursor"]
        cursors.append(cursor)
        if cursor is None:
            return pages, cursors
    raise AssertionError("a list that never ends")


def a_merchant(runtime: Runtime, name: str) -> dict[str, Any]:
    created = runtime.admin(
        "POST",
        "/v1/merchants",
        json={
            "name": name,
            "depot_id": runtime.demo["depot_id"],
            "shopify_secret": "shpss_readback_secret_value",
        },
    )
    assert created.status_code == 201, created.text
    return dict(created.json())


def test_the_operator_reads_back_depots_and_their_policy(runtime: Runtime) -> None:
    depot_id = runtime.depot("Read-back depot")
    policy = {"waves": ["07:30"], "horizon_hours": 10, "time_limit_s": 7}
    put = runtime.admin("PUT", f"/v1/depots/{depot_id}/dispatch-policy", json=policy)
    assert put.status_code == 200, put.text

    depot = runtime.admin("GET", f"/v1/depots/{depot_id}")
    assert depot.status_code == 200, depot.text
    assert depot.json() | {"dispatch": None} == {
        "depot_id": depot_id,
        "name": "Read-back depot",
        "lat": 51.5,
        "lng": -0.12,
        "timezone": "Europe/London",
        "created_at": depot.json()["created_at"],
        "dispatch": None,
        "fulfilment": {},
    }
    assert depot.json()["dispatch"] == put.json()["dispatch"]
    read = runtime.admin("GET", f"/v1/depots/{depot_id}/dispatch-policy")
    assert read.status_code == 200 and read.json() == put.json()
    assert read.json()["dispatch"]["waves"] == ["07:30"]

    pages, _ = every_page(runtime.admin, "/v1/depots", limit=2)
    ids = [d["depot_id"] for page in pages for d in page]
    assert depot_id in ids and runtime.demo["depot_id"] in ids
    assert ids == sorted(ids) and len(ids) == len(set(ids)), "by id, each once"
    assert all(len(page) <= 2 for page in pages)

    for path in ("/v1/depots/dep_nowhere", "/v1/depots/dep_nowhere/dispatch-policy"):
        missing = runtime.admin("GET", path)
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "depot_not_found"
    as_merchant = runtime.merchant(runtime.demo["api_key"], "GET", "/v1/depots")
    assert as_merchant.status_code == 401
    assert requests.get(runtime.url(f"/v1/depots/{depot_id}"), timeout=10).status_code == 401


def test_the_operator_reads_merchants_back_without_a_key_or_secret(runtime: Runtime) -> None:
    created = a_merchant(runtime, "Secretive Shop")
    merchant_id = created["merchant_id"]
    shown = runtime.admin("GET", f"/v1/merchants/{merchant_id}")
    assert shown.status_code == 200, shown.text
    assert set(shown.json()) == {
        "merchant_id",
        "name",
        "depot_id",
        "depot_ids",
        "created_at",
        "notifications_off",
    }
    assert shown.json()["depot_ids"] == [runtime.demo["depot_id"]]
    assert shown.json()["name"] == "Secretive Shop"

    pages, _ = every_page(runtime.admin, "/v1/merchants", limit=3)
    listed = [m for page in pages for m in page]
    ids = [m["merchant_id"] for m in listed]
    assert merchant_id in ids and ids == sorted(ids) and len(ids) == len(set(ids))
    everything = json.dumps([shown.json(), *listed])
    for secret in (created["api_key"], created["webhook_secret"], "shpss_readback_secret_value"):
        assert secret not in everything
    assert "api_key" not in everything and "secret" not in everything

    missing = runtime.admin("GET", "/v1/merchants/mer_nobody")
    assert missing.status_code == 404
    assert runtime.merchant(created["api_key"], "GET", "/v1/merchants").status_code == 401
    assert (
        runtime.merchant(created["api_key"], "GET", f"/v1/merchants/{merchant_id}").status_code
        == 401
    )


def test_a_depots_runs_are_read_newest_first_a_page_at_a_time(runtime: Runtime) -> None:
    depot_id = runtime.depot("Runs depot")
    started = []
    for _ in range(3):
        run_id = runtime.admin("POST", f"/v1/depots/{depot_id}/dispatch").json()["run_id"]
        wait_for(runtime, run_id)
        started.append(run_id)
        time.sleep(0.01)

    pages, _ = every_page(runtime.admin, f"/v1/depots/{depot_id}/dispatch-runs", limit=2)
    assert [len(p) for p in pages][:2] == [2, 1]
    runs = [r for page in pages for r in page]
    assert [r["run_id"] for r in runs] == started[::-1]
    assert all(r["depot_id"] == depot_id and r["status"] != "running" for r in runs)
    assert "routes" not in runs[0], "the list is of summaries; the run's own GET has its routes"

    missing = runtime.admin("GET", "/v1/depots/dep_nowhere/dispatch-runs")
    assert missing.status_code == 404


def test_orders_page_newest_first_each_once_and_cursors_open_only_their_own_list(
    runtime: Runtime,
) -> None:
    mine, theirs = a_merchant(runtime, "Pager"), a_merchant(runtime, "Other pager")
    key = mine["api_key"]
    made = []
    for n in range(7):
        answer = runtime.merchant(key, "POST", "/v1/orders", json=an_order(external_id=f"pg-{n}"))
        assert answer.status_code == 201, answer.text
        made.append(answer.json()["order_id"])
        time.sleep(0.005)  # one creation time each: the order of the list is theirs
    runtime.merchant(theirs["api_key"], "POST", "/v1/orders", json=an_order(external_id="pg-x"))

    def as_mine(method: str, path: str, **kwargs: Any) -> requests.Response:
        return runtime.merchant(key, method, path, **kwargs)

    pages, cursors = every_page(as_mine, "/v1/orders", limit=3)
    assert [len(p) for p in pages if p] == [3, 3, 1]
    listed = [o["order_id"] for page in pages for o in page]
    assert listed == made[::-1], "every order once, newest first, none of another merchant"
    first = as_mine("GET", "/v1/orders", params={"limit": 3}).json()
    assert first["orders"] == first["items"], "the old key answers as before"

    cursor = str(cursors[0])
    payload = cursor.split(".")[1]
    key_json = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged = json.dumps(
        {
            k: {"S": v["S"].replace(mine["merchant_id"], theirs["merchant_id"])}
            for k, v in key_json.items()
        }
    ).encode()
    tampered = [
        cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB"),
        "c1." + base64.urlsafe_b64encode(forged).decode().rstrip("=") + "." + cursor.split(".")[2],
        "not-a-cursor",
    ]
    for bad in tampered:
        refused = as_mine("GET", "/v1/orders", params={"cursor": bad})
        assert refused.status_code == 400, (bad, refused.text)
        assert refused.json()["error"]["code"] == "invalid_cursor"
        assert refused.json()["error"]["field"] == "cursor"
    # Another merchant's own valid cursor, or this one under other filters, opens nothing.
    foreign = runtime.merchant(theirs["api_key"], "GET", "/v1/orders", params={"cursor": cursor})
    assert foreign.status_code == 400
    refiltered = as_mine("GET", "/v1/orders", params={"cursor": cursor, "status": "ready"})
    assert refiltered.status_code == 400
    elsewhere = as_mine("GET", "/v1/webhook-endpoints", params={"cursor": cursor})
    assert elsewhere.status_code == 400

    for limit in ("0", "201", "many"):
        bad_limit = as_mine("GET", "/v1/orders", params={"limit": limit})
        assert bad_limit.status_code == 422 and bad_limit.json()["error"]["field"] == "limit"
    unknown = as_mine("GET", "/v1/orders", params={"colour": "red"})
    assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "colour"


def test_orders_filter_by_status_external_id_and_creation_time(runtime: Runtime) -> None:
    merchant = a_merchant(runtime, "Filtered")
    key = merchant["api_key"]
    made = []
    for n in range(4):
        answer = runtime.merchant(key, "POST", "/v1/orders", json=an_order(external_id=f"fl-{n}"))
        made.append(answer.json())
        time.sleep(0.05)
    cancelled = runtime.merchant(key, "POST", f"/v1/orders/{made[1]['order_id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text

    def ids(**params: Any) -> list[str]:
        answer = runtime.merchant(key, "GET", "/v1/orders", params=params)
        assert answer.status_code == 200, answer.text
        return [o["order_id"] for o in answer.json()["items"]]

    assert ids(status="cancelled") == [made[1]["order_id"]]
    assert made[1]["order_id"] not in ids(status=made[0]["status"])
    assert ids(external_id="fl-2") == [made[2]["order_id"]]
    assert ids(external_id="fl-2", status="cancelled") == []
    middle = {"created_from": made[1]["created_at"], "created_to": made[3]["created_at"]}
    assert ids(**middle) == [made[2]["order_id"], made[1]["order_id"]], "from inclusive, to not"
    assert ids(created_from=made[2]["created_at"]) == [o["order_id"] for o in made[2:]][::-1]
    assert ids(created_from=made[2]["created_at"], status="cancelled") == []

    backwards = runtime.merchant(
        key,
        "GET",
        "/v1/orders",
        params={"created_from": made[3]["created_at"], "created_to": made[0]["created_at"]},
    )
    assert backwards.status_code == 422 and backwards.json()["error"]["field"] == "created_to"
    for name, value in (("status", "lost"), ("created_from", "yesterday")):
        bad = runtime.merchant(key, "GET", "/v1/orders", params={name: value})
        assert bad.status_code == 422 and bad.json()["error"]["field"] == name


def test_webhook_endpoints_page_too(runtime: Runtime) -> None:
    merchant = a_merchant(runtime, "Many hooks")
    key = merchant["api_key"]
    made = []
    for n in range(3):
        url = f"http://127.0.0.1:9/hooks/{n}"
        answer = runtime.merchant(key, "POST", "/v1/webhook-endpoints", json={"url": url})
        assert answer.status_code == 201, answer.text
        made.append(answer.json())

    def as_merchant(method: str, path: str, **kwargs: Any) -> requests.Response:
        return runtime.merchant(key, method, path, **kwargs)

    pages, _ = every_page(as_merchant, "/v1/webhook-endpoints", limit=2)
    listed = [e["endpoint_id"] for page in pages for e in page]
    assert sorted(listed) == sorted(e["endpoint_id"] for e in made) and len(pages[0]) == 2
    assert not any(e["secret"] in json.dumps(pages) for e in made)


class _Hooks(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hooks() -> Any:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hooks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Hooks.received = []
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks", _Hooks.received
    server.shutdown()


def test_a_merchant_cancels_a_planned_order_once_and_too_late_is_409(
    runtime: Runtime, hooks: tuple[str, list[dict[str, Any]]]
) -> None:
    found = dispatched(runtime, vehicles=1, orders=3, phone=PHONE)
    key, run = found["api_key"], found["run"]
    url, received = hooks
    hooked = runtime.merchant(
        key, "POST", "/v1/webhook-endpoints", json={"url": url, "types": ["order.cancelled"]}
    )
    assert hooked.status_code == 201, hooked.text
    [route] = run["routes"]
    stops = [s["order_id"] for s in route["stops"]]
    leaving = stops[1]

    other = a_merchant(runtime, "Not the owner")
    not_theirs = runtime.merchant(other["api_key"], "POST", f"/v1/orders/{leaving}/cancel")
    assert not_theirs.status_code == 404

    first = runtime.merchant(key, "POST", f"/v1/orders/{leaving}/cancel")
    assert first.status_code == 200, first.text
    assert first.json()["order_id"] == leaving and first.json()["status"] == "cancelled"
    again = runtime.merchant(key, "POST", f"/v1/orders/{leaving}/cancel")
    assert again.status_code == 200 and again.json()["status"] == "cancelled"
    assert again.json()["updated_at"] == first.json()["updated_at"], "nothing changed again"

    # The stop left the route: the run shows it no more, and the driver cannot serve it.
    after = runtime.admin("GET", f"/v1/dispatch-runs/{run['run_id']}").json()
    assert [s["order_id"] for s in after["routes"][0]["stops"]] == [stops[0], stops[2]]
    assert post(runtime, route, type="departed", event_id="rb-dep").status_code == 202
    served = post(runtime, route, type="delivered", event_id="rb-d", order_id=leaving)
    assert served.status_code == 404 and "not on route" in served.json()["error"]["message"]

    # Out for delivery: too late.
    late = runtime.merchant(key, "POST", f"/v1/orders/{stops[0]}/cancel")
    assert late.status_code == 409 and late.json()["error"]["code"] == "illegal_transition"
    shown = runtime.merchant(key, "GET", f"/v1/orders/{stops[0]}").json()
    assert shown["status"] == "out_for_delivery"

    # The customer told once by each channel; the merchant's endpoint once.
    told = messages_for(runtime, leaving, expected=6)
    cancelled = Counter(m["channel"] for m in told if "ancel" in (m.get("subject") or m["body"]))
    assert cancelled == {"email": 1, "sms": 1}, told
    for _ in range(40):
        if received:
            break
        time.sleep(0.25)
    time.sleep(1)
    assert [(h["type"], h["data"]["order_id"]) for h in received] == [("order.cancelled", leaving)]


def test_the_nearest_lockers_answer_as_a_list_of_one_page(runtime: Runtime) -> None:
    key = runtime.demo["api_key"]
    near = runtime.merchant(key, "GET", "/v1/lockers", params={"near": "51.5035,-0.0753"})
    assert near.status_code == 200, near.text
    body = near.json()
    assert body["items"] == body["lockers"] and body["items"] and body["next_cursor"] is None
    paged = runtime.merchant(
        key, "GET", "/v1/lockers", params={"near": "51.5035,-0.0753", "cursor": "c1.x.y"}
    )
    assert paged.status_code == 400 and paged.json()["error"]["code"] == "invalid_cursor"
