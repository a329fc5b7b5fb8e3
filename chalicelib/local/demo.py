"""`make demo` / `lastmile demo`: one parcel from a Shopify webhook to the doorstep against a
running `make run`, over its HTTP API as a storefront, an operator and a driver would, printing
each step. It reads the names `make run` exports (API, ADMIN_KEY, MERCHANT_ID, ...)."""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import requests

from chalicelib.local import PROJECT_DIR
from chalicelib.local.demo_shift import shift_moved_on

NEEDED = ("API", "ADMIN_KEY", "MERCHANT_ID", "MERCHANT_KEY", "SHOPIFY_SECRET", "DEPOT")
SHOPIFY_FIXTURE = PROJECT_DIR / "tests" / "events" / "shopify" / "orders_create.json"
TIMEOUT_S = 30
RUN_WAIT_S = 180  # a dispatch run of the demo depot (its policy gives the solver 10 s)
OUTBOX_WAIT_S = 120  # the stream poller sends each within seconds; a busy day queues them


# How the driver serves each kind of stop (a locker stop is a deposit, a retrieval takes an
# expired parcel back).
SERVED_BY = {"delivery": "delivered", "locker": "deposited", "retrieval": "retrieved"}


class DemoFailed(Exception):
    """A step did not answer as the walk expects (the message says which, and what came)."""


class Walk:
    """The demo's HTTP side: the API's base URL and the keys, one session."""

    def __init__(self, env: Mapping[str, str], say: Callable[[str], None] = print) -> None:
        missing = [name for name in NEEDED if not env.get(name)]
        if missing:
            raise DemoFailed(
                f"{', '.join(missing)} not set: paste the export block `make run` printed"
            )
        self.env = env
        self.api = env["API"].rstrip("/")
        self.say = say
        self.http = requests.Session()

    def call(self, method: str, path: str, key: str | None = None, **kw: Any) -> Any:
        headers = dict(kw.pop("headers", {}))
        if key:
            headers["Authorization"] = f"Bearer {key}"
        reply = self.http.request(method, self.api + path, headers=headers, timeout=TIMEOUT_S, **kw)
        if reply.status_code >= 300:
            raise DemoFailed(f"{method} {path} answered {reply.status_code}: {reply.text[:300]}")
        return reply.json() if "json" in reply.headers.get("Content-Type", "") else reply.text

    def admin(self, method: str, path: str, **kw: Any) -> Any:
        return self.call(method, path, self.env["ADMIN_KEY"], **kw)

    def merchant(self, method: str, path: str, **kw: Any) -> Any:
        return self.call(method, path, self.env["MERCHANT_KEY"], **kw)


def shopify_order(now: datetime, number: int) -> dict[str, Any]:
    """The repository's Shopify sample as a new order of today: its own id and number (so each
    demo is a new parcel), its times now, and the customer reachable by email and SMS."""
    order = json.loads(SHOPIFY_FIXTURE.read_text())
    stamp = now.isoformat(timespec="seconds")
    order |= {
        "id": number,
        "order_number": number % 100_000,
        "name": f"#{number % 100_000}",
        "created_at": stamp,
        "updated_at": stamp,
        "processed_at": stamp,
    }
    return order


def fleet_on_shift(walk: Walk, now: datetime) -> None:
    """The depot's fleet as it stands; a `make run` left running past its fleet's shift has it
    moved on (as an operator would, through the API), or no new order could be planned."""
    depot = walk.env["DEPOT"]
    timezone = walk.admin("GET", f"/v1/depots/{depot}")["timezone"]
    fleet = walk.admin("GET", f"/v1/depots/{depot}/vehicles")["vehicles"]
    moved = shift_moved_on(fleet, timezone, now)
    if moved is None:
        return
    walk.admin("PUT", f"/v1/depots/{depot}/vehicles", json={"vehicles": moved})
    last = max(fleet, key=lambda v: datetime.fromisoformat(v["shift"]["end"]))["shift"]["end"]
    shift = moved[0]["shift"]
    walk.say(
        f"0. fleet        every shift ends by {last}, too soon: moved to {shift['start']} to "
        f"{shift['end']} (PUT /v1/depots/{depot}/vehicles)"
    )


def send_webhook(walk: Walk, order: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps(order).encode()
    digest = hmac.new(walk.env["SHOPIFY_SECRET"].encode(), body, hashlib.sha256).digest()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
        "X-Shopify-Event-Id": f"demo-{order['id']}",
    }
    answer: dict[str, Any] = walk.call(
        "POST", f"/v1/webhooks/shopify/{walk.env['MERCHANT_ID']}", data=body, headers=headers
    )
    return answer


def dispatch_until_planned(walk: Walk, order_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Dispatch the depot until a run plans the order (a run already going may have started
    before the order came): that run and the order's route in it."""
    depot = walk.env["DEPOT"]
    deadline = time.monotonic() + RUN_WAIT_S
    while time.monotonic() < deadline:
        run_id = walk.admin("POST", f"/v1/depots/{depot}/dispatch")["run_id"]
        run = walk.admin("GET", f"/v1/dispatch-runs/{run_id}")
        while run["status"] == "running" and time.monotonic() < deadline:
            time.sleep(1)
            run = walk.admin("GET", f"/v1/dispatch-runs/{run_id}")
        for route in run.get("routes", []):
            if any(stop["order_id"] == order_id for stop in route["stops"]):
                return run, route
        left = {u["order_id"]: u["reason"] for u in run.get("unassigned", [])}
        if order_id in left:
            raise DemoFailed(f"run {run_id} left the order out: {left[order_id]}")
    raise DemoFailed(f"no dispatch run planned {order_id} within {RUN_WAIT_S} s")


def drive(walk: Walk, route: dict[str, Any], order_id: str) -> int:
    """The driver's day up to the order: departed, the stops before it delivered (so it is
    next and its customer hears the van is coming), then it delivered with a proof."""
    token = route["driver_token"]

    def event(**body: Any) -> dict[str, Any]:
        body["event_id"] = f"demo-{secrets.token_hex(6)}"
        answer: dict[str, Any] = walk.call(
            "POST", f"/v1/routes/{route['route_id']}/events", token, json=body
        )
        return answer

    event(type="departed")
    walk.say(f"5. departed     {route['vehicle_id']} left the depot: out for delivery")
    before = []
    for stop in route["stops"]:
        if stop["order_id"] == order_id:
            break
        before.append(stop)
    for stop in before:
        event(type=SERVED_BY.get(stop.get("kind", ""), "delivered"), order_id=stop["order_id"])
    walk.say(f"6. arriving     {len(before)} stops served first: yours is next (order.arriving)")
    proof = {"recipient_name": "Ada", "safe_place": "front porch"}
    event(type="delivered", order_id=order_id, proof=proof)
    walk.say("7. delivered    left at the front porch, received by Ada")
    return len(before)


def outbox(walk: Walk, order_id: str) -> list[dict[str, Any]]:
    """The order's captured email and SMS, once the delivered ones are in."""
    deadline = time.monotonic() + OUTBOX_WAIT_S
    while True:
        captured = walk.call("GET", "/local/outbox")["messages"]
        messages = [m for m in captured if m.get("order_id") == order_id]
        channels = {
            m["channel"]
            for m in messages
            if "delivered" in ((m.get("subject") or "") + m["body"]).lower()
        }
        if {"email", "sms"} <= channels or time.monotonic() > deadline:
            return messages
        time.sleep(1)


def run_demo(env: Mapping[str, str], say: Callable[[str], None] = print) -> dict[str, Any]:
    """The walk, step by step; what it saw (the order, its route, the page, the messages)."""
    walk = Walk(env, say)
    now = datetime.now(UTC)
    fleet_on_shift(walk, now)
    number = int(now.timestamp() * 1000) * 1000 + secrets.randbelow(1000)
    webhook = send_webhook(walk, shopify_order(now, number))
    say(f"1. webhook      Shopify orders/create #{number % 100_000}: {webhook['outcome']}")
    found = walk.merchant("GET", f"/v1/orders?external_id={number}")["orders"]
    if not found:
        raise DemoFailed(f"the webhook's order {number} is not readable")
    order = found[0]
    order_id, code = order["order_id"], order["tracking_code"]
    say(f"2. order        {order_id} {order['status']}, tracking code {code}")
    run, route = dispatch_until_planned(walk, order_id)
    say(f"3. dispatch     run {run['run_id']} {run['status']}: {len(run['routes'])} routes")
    place = [s["order_id"] for s in route["stops"]].index(order_id) + 1
    say(
        f"4. route        {route['route_id']} ({route['vehicle_id']}): stop {place} of "
        f"{len(route['stops'])}"
    )
    drive(walk, route, order_id)
    url = f"{walk.api}/track/{code}"
    page = walk.call("GET", f"/track/{code}")
    view = walk.call("GET", f"/v1/track/{code}")
    say(f"8. tracking     {url}  ({view.get('headline', view['status'])})")
    messages = outbox(walk, order_id)
    say(f"9. outbox       {len(messages)} messages to the customer:")
    for message in messages:
        what = message.get("subject") or message["body"].splitlines()[0]
        say(f"     {message['channel']:<5} to {message['to']}: {what}")
    return {
        "order_id": order_id,
        "tracking_url": url,
        "status": view["status"],
        "page": page,
        "messages": messages,
        "route": route,
    }


def register(commands: Any) -> None:
    demo = commands.add_parser(
        "demo",
        help="play one parcel from webhook to doorstep against a running `make run` "
        "(reads the names its export block sets)",
    )
    demo.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    try:
        run_demo(os.environ)
    except (DemoFailed, requests.RequestException) as exc:
        print(f"demo stopped: {exc}")
        return 1
    return 0
