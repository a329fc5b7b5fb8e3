"""A merchant's own endpoint hears about its orders, signed with Standard Webhooks."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook

from tests.builders import an_order
from tests.e2e.conftest import Runtime


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_order_events_reach_the_merchants_endpoint_signed(runtime: Runtime) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        merchant = runtime.admin(
            "POST", "/v1/merchants", json={"name": "Hooked", "depot_id": runtime.demo["depot_id"]}
        ).json()
        key = merchant["api_key"]
        url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
        endpoint = runtime.merchant(key, "POST", "/v1/webhook-endpoints", json={"url": url})
        assert endpoint.status_code == 201, endpoint.text
        secret = endpoint.json()["secret"]
        listed = runtime.merchant(key, "GET", "/v1/webhook-endpoints").json()["endpoints"]
        assert [e["url"] for e in listed] == [url] and secret not in json.dumps(listed)

        order_id = runtime.merchant(
            key, "POST", "/v1/orders", json=an_order(external_id="hooked-1")
        ).json()["order_id"]
        for _ in range(80):
            if _Receiver.received:
                break
            time.sleep(0.25)

        [(headers, body)] = _Receiver.received
        payload = Webhook(secret).verify(body, headers)
        assert payload["type"] == "order.confirmed"
        assert payload["data"]["order_id"] == order_id
        assert "Baker Street" not in body.decode() and "grace@" not in body.decode()
        gone = runtime.merchant(
            key, "DELETE", f"/v1/webhook-endpoints/{endpoint.json()['endpoint_id']}"
        )
        assert gone.status_code == 204
    finally:
        server.shutdown()


def test_endpoints_at_private_addresses_are_refused_and_nothing_is_registered(
    runtime: Runtime,
) -> None:
    merchant = runtime.admin(
        "POST", "/v1/merchants", json={"name": "Probing", "depot_id": runtime.demo["depot_id"]}
    ).json()
    key = merchant["api_key"]
    for url in (
        "https://127.1/hooks",
        "https://2130706433/hooks",
        "https://0x7f000001/hooks",
        "https://localhost./hooks",
        "https://[::ffff:127.0.0.1]/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://127.0.0.1:8443/hooks",  # https to this machine: refused here as in AWS
        "http://10.0.0.1/hooks",  # the local stage's plain http is for this machine only
        "https://user:pw@shop.example/hooks",
    ):
        refused = runtime.merchant(key, "POST", "/v1/webhook-endpoints", json={"url": url})
        assert refused.status_code == 422, (url, refused.text)
        assert refused.json()["error"]["field"] == "url"
    listed = runtime.merchant(key, "GET", "/v1/webhook-endpoints").json()["endpoints"]
    assert listed == []
