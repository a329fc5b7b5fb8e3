"""Dispatch when runs die or orders cannot be planned, over HTTP: a stuck run stopped outside
its Catch and reaped, and an order whose window passed held for the merchant, told once."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook

from tests.builders import an_order
from tests.e2e.conftest import Runtime
from tests.e2e.test_dispatch import wait_for


def merchant_of(runtime: Runtime, depot_id: str, name: str) -> str:
    created = runtime.admin("POST", "/v1/merchants", json={"name": name, "depot_id": depot_id})
    assert created.status_code == 201, created.text
    return str(created.json()["api_key"])


def orders(runtime: Runtime, key: str, n: int, **overrides: Any) -> list[str]:
    ids = []
    for i in range(n):
        body = an_order(external_id=f"{key[-6:]}-{i}", **overrides)
        body["address"] |= {"lat": 51.5 + 0.004 * i, "lng": -0.12 + 0.003 * i}
        answer = runtime.merchant(key, "POST", "/v1/orders", json=body)
        assert answer.status_code == 201, answer.text
        ids.append(str(answer.json()["order_id"]))
    return ids


def test_a_stuck_run_stopped_outside_its_catch_is_reaped(runtime: Runtime) -> None:
    depot = runtime.depot("Stuck depot", vans=1)
    key = merchant_of(runtime, depot, "Stuck Shop")
    placed = orders(runtime, key, 3)
    assert runtime.admin("POST", "/local/dispatch/faults", json={"fault": "stuck_run"}).ok
    try:
        run_id = runtime.admin("POST", f"/v1/depots/{depot}/dispatch").json()["run_id"]
        time.sleep(1)  # into its Build, which hangs
        stopped = runtime.admin("POST", f"/local/dispatch-runs/{run_id}/stop")
        assert stopped.json() == {"run_id": run_id, "status": "ABORTED"}, stopped.text
        held = runtime.admin("POST", f"/v1/depots/{depot}/dispatch").json()
        assert held == {"run_id": run_id, "started": False}, "nothing released it"

        swept = runtime.admin("POST", "/local/schedules/dispatch_reaper", json={})
    finally:
        assert runtime.admin("DELETE", "/local/dispatch/faults").json() == {"faults": []}

    assert swept.status_code == 200, swept.text
    # (The runtime is shared with other tests: only this depot's run is this test's.)
    reaped = [r for r in swept.json()["result"]["reaped"] if r["depot_id"] == depot]
    assert [(r["run_id"], r["execution"]) for r in reaped] == [(run_id, "ABORTED")]
    run = runtime.admin("GET", f"/v1/dispatch-runs/{run_id}").json()
    assert run["status"] == "failed" and "ExecutionAborted" in run["error"]
    for order_id in placed:
        assert runtime.merchant(key, "GET", f"/v1/orders/{order_id}").json()["status"] == "ready"
    again = runtime.admin("POST", f"/v1/depots/{depot}/dispatch").json()
    assert again["started"] is True, "the depot is free"
    planned = wait_for(runtime, again["run_id"])
    assert {s["order_id"] for r in planned["routes"] for s in r["stops"]} == set(placed)


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_an_order_whose_window_passed_is_held_for_the_merchant_and_told_once(
    runtime: Runtime,
) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        depot = runtime.depot("Late depot", vans=1)
        key = merchant_of(runtime, depot, "Late Shop")
        url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
        hook = {"url": url, "types": ["order.needs_attention"]}
        endpoint = runtime.merchant(key, "POST", "/v1/webhook-endpoints", json=hook)
        assert endpoint.status_code == 201, endpoint.text
        start, end = (datetime.now(UTC) - timedelta(hours=h) for h in (3, 2))
        window = {"start": start.isoformat(), "end": end.isoformat()}
        [late] = orders(runtime, key, 1, delivery={"type": "home", "window": window})

        for _ in range(2):  # a second run does not take it up again
            run_id = runtime.admin("POST", f"/v1/depots/{depot}/dispatch").json()["run_id"]
            wait_for(runtime, run_id)
        for _ in range(80):
            if _Receiver.received:
                break
            time.sleep(0.25)
        time.sleep(1)  # room for a second delivery, were there one

        held = runtime.merchant(key, "GET", f"/v1/orders/{late}").json()
        assert (held["status"], held["attention_reason"]) == ("needs_attention", "window_passed")
        [(headers, body)] = _Receiver.received
        payload = Webhook(endpoint.json()["secret"]).verify(body, headers)
        assert payload["type"] == "order.needs_attention"
        assert payload["data"]["order_id"] == late
        assert payload["data"]["reason"] == "window_passed"
        assert json.loads(body)["data"]["status"] == "needs_attention"
        last = runtime.admin("GET", f"/v1/dispatch-runs/{run_id}").json()
        assert last["figures"]["orders"] == 0, "the second run claimed nothing"
    finally:
        server.shutdown()
