"""One ETA over HTTP: after `departed` the out-for-delivery email and SMS, the merchant's webhook,
the tracking page and the API give the same window; served out of order with pings between,
`arriving` goes at most once a customer and `delayed` never to a cancelled order's."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from datetime import datetime
from http.server import ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

import requests
from standardwebhooks.webhooks import Webhook

from tests.builders import standard_headers
from tests.e2e.conftest import Runtime
from tests.e2e.test_dispatch import wait_for
from tests.e2e.test_driver_events import dispatched, located_order, order, post
from tests.e2e.test_merchant_webhooks import _Receiver
from tests.e2e.test_notifications import PHONE, messages_for

LONDON = ZoneInfo("Europe/London")


class _Hooks(_Receiver):
    received: list[tuple[dict[str, str], bytes]] = []  # this test's own


def _local(iso: str) -> str:
    return f"{datetime.fromisoformat(iso.replace('Z', '+00:00')).astimezone(LONDON):%H:%M}"


def _outbox(runtime: Runtime) -> list[dict[str, Any]]:
    return list(requests.get(runtime.url("/local/outbox"), timeout=10).json()["messages"])


def test_after_departed_every_reader_gives_the_same_window(runtime: Runtime) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hooks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        found = dispatched(runtime, vehicles=1, orders=3, phone=PHONE)
        key = found["api_key"]
        url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
        endpoint = runtime.merchant(key, "POST", "/v1/webhook-endpoints", json={"url": url})
        assert endpoint.status_code == 201, endpoint.text
        secret = endpoint.json()["secret"]
        [route] = found["run"]["routes"]
        last = route["stops"][-1]["order_id"]

        assert post(runtime, route, type="departed", event_id="one-dep").status_code == 202

        # The email and SMS of out_for_delivery (after confirmed and planned).
        sent = messages_for(runtime, last, expected=6)
        out = [m for m in sent if "out for delivery" in m["body"]]
        assert Counter(m["channel"] for m in out) == {"email": 1, "sms": 1}, sent
        hooks: list[dict[str, Any]] = []
        for _ in range(80):
            hooks = [
                Webhook(secret).verify(body, headers) for headers, body in list(_Hooks.received)
            ]
            if any(
                h["type"] == "order.out_for_delivery" and h["data"]["order_id"] == last
                for h in hooks
            ):
                break
            time.sleep(0.25)
        [hook] = [
            h
            for h in hooks
            if h["type"] == "order.out_for_delivery" and h["data"]["order_id"] == last
        ]
        window = hook["data"]["eta_window"]
        start, end = _local(window["start"]), _local(window["end"])

        email = next(m for m in out if m["channel"] == "email")
        sms = next(m for m in out if m["channel"] == "sms")
        assert f"between {start} and {end}" in email["body"], (window, email["body"])
        assert f"{start}-{end}" in sms["body"], (window, sms["body"])

        shown = order(runtime, key, last)
        tracking = requests.get(
            runtime.url(f"/v1/track/{shown['tracking_code']}"), timeout=10
        ).json()
        assert tracking["eta"] == shown["eta"] == hook["data"]["eta"]
        assert tracking["eta_window"] == shown["eta_window"] == window
        page = requests.get(runtime.url(f"/track/{shown['tracking_code']}"), timeout=10).text
        assert f"between {start} and {end}" in page
        # Never before the van can be there: not before it left the depot, a moment ago.
        departed_at = next(
            e["at"] for e in shown["timeline"] if e["type"] == "order.out_for_delivery"
        )
        assert window["start"] >= departed_at[:19]
        gone = runtime.merchant(
            key, "DELETE", f"/v1/webhook-endpoints/{endpoint.json()['endpoint_id']}"
        )
        assert gone.status_code == 204
    finally:
        server.shutdown()


def _generic(runtime: Runtime, merchant: dict[str, Any], msg_id: str, payload: dict) -> None:
    body = json.dumps(payload).encode()
    answer = requests.post(
        runtime.url(f"/v1/webhooks/generic/{merchant['merchant_id']}"),
        data=body,
        headers=standard_headers(merchant["webhook_secret"], body, msg_id=msg_id),
        timeout=30,
    )
    assert answer.status_code < 300, answer.text


def test_stops_served_out_of_order_tell_each_customer_once(runtime: Runtime) -> None:
    depot = runtime.depot("Out of order depot", vans=1)
    merchant = runtime.admin(
        "POST", "/v1/merchants", json={"name": "Backwards", "depot_id": depot}
    ).json()
    key = merchant["api_key"]
    for n in range(5):
        body = located_order(f"ooo-{depot}-{n}", 51.5 + 0.004 * (n + 1), -0.12 + 0.003 * n)
        body["customer"] |= {"phone": PHONE}
        _generic(runtime, merchant, f"ooo-c-{n}", {"type": "order.created", "data": body})
    started = runtime.admin("POST", f"/v1/depots/{depot}/dispatch").json()["run_id"]
    run = wait_for(runtime, started)
    [route] = run["routes"]
    stops = [s["order_id"] for s in route["stops"]]
    assert len(stops) == 5, run
    # One customer cancels before the van leaves (the storefront says so): its stop goes.
    cancelled = stops[2]
    external = order(runtime, key, cancelled)["external_id"]
    cancel = {"type": "order.cancelled", "data": {"external_id": external}}
    _generic(runtime, merchant, "ooo-cancel", cancel)
    assert order(runtime, key, cancelled)["status"] == "cancelled"
    assert post(runtime, route, type="departed", event_id="ooo-dep").status_code == 202

    # The first fix: far out (but in the area), every stop late by much more than 15 minutes.
    assert (
        post(runtime, route, type="location", event_id="p0", lat=51.75, lng=-0.12).json()["fix"]
        == "used"
    )
    served = [stops[4], stops[3], stops[1], stops[0]]  # the plan backwards
    for n, order_id in enumerate(served):
        for k in range(2):
            ping = post(
                runtime,
                route,
                type="location",
                event_id=f"p{n}{k}",
                lat=51.75 - 0.05 * n,
                lng=-0.12,
            )
            assert ping.status_code == 202, ping.text
        done = post(runtime, route, type="delivered", event_id=f"d{n}", order_id=order_id)
        assert done.status_code == 202, done.text

    time.sleep(3)  # the outbox stream delivers asynchronously
    messages = [m for m in _outbox(runtime) if m.get("order_id") in stops]
    for order_id in stops:
        mine = [m for m in messages if m["order_id"] == order_id and m["channel"] == "email"]
        subjects = Counter(m["subject"] for m in mine)
        arriving = sum(n for s, n in subjects.items() if "arriving soon" in s)
        delayed = sum(n for s, n in subjects.items() if "running late" in s)
        assert arriving <= 1, (order_id, subjects)
        assert delayed <= 1, (order_id, subjects)
        if order_id == cancelled:
            assert arriving == delayed == 0, subjects
    late = [
        m
        for m in messages
        if m["channel"] == "email" and "running late" in m["subject"] and m["order_id"] != cancelled
    ]
    assert late, "the van 28 km out made the others late: each told once"
    print(
        "\nemails by subject:",
        json.dumps(Counter(m["subject"] for m in messages if m["channel"] == "email")),
    )
