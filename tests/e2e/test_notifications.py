"""Email and SMS at each step, once per message and channel, as the customer receives them
(read from /local/outbox, where the local SendGrid and SNS stand-ins put what they were sent)."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import requests

from tests.builders import an_order
from tests.e2e.conftest import Runtime
from tests.e2e.test_driver_events import dispatched

PHONE = "+447911123456"


def messages_for(runtime: Runtime, order_id: str, expected: int) -> list[dict[str, Any]]:
    """The order's captured messages, once `expected` of them arrived (the stream is async)."""
    found: list[dict[str, Any]] = []
    for _ in range(120):
        found = [
            m
            for m in requests.get(runtime.url("/local/outbox"), timeout=10).json()["messages"]
            if m.get("order_id") == order_id
        ]
        if len(found) >= expected:
            time.sleep(0.5)  # and nothing more comes
            break
        time.sleep(0.25)
    return [
        m
        for m in requests.get(runtime.url("/local/outbox"), timeout=10).json()["messages"]
        if m.get("order_id") == order_id
    ]


def test_a_new_order_gets_one_email_and_one_sms(runtime: Runtime) -> None:
    key = runtime.demo["api_key"]
    body = an_order(external_id="notify-1")
    body["customer"] = {"name": "Ada Lovelace", "email": "ada@example.com", "phone": PHONE}
    created = runtime.merchant(key, "POST", "/v1/orders", json=body).json()

    sent = messages_for(runtime, created["order_id"], expected=2)

    assert Counter(m["channel"] for m in sent) == {"email": 1, "sms": 1}
    email = next(m for m in sent if m["channel"] == "email")
    assert email["to"] == "ada@example.com" and created["tracking_code"] in email["body"]
    assert next(m for m in sent if m["channel"] == "sms")["to"] == PHONE
    listed = runtime.merchant(key, "GET", f"/v1/orders/{created['order_id']}/notifications")
    assert listed.status_code == 200, listed.text
    assert [e["state"] for e in listed.json()["email"]] == ["sent"]
    assert [e["state"] for e in listed.json()["sms"]] == ["sent"]


def test_an_invalid_phone_skips_sms_with_a_reason_and_still_emails(runtime: Runtime) -> None:
    key = runtime.demo["api_key"]
    body = an_order(external_id="notify-2")
    body["customer"] = {"name": "Alan Turing", "email": "alan@example.com", "phone": "12"}
    created = runtime.merchant(key, "POST", "/v1/orders", json=body).json()

    sent = messages_for(runtime, created["order_id"], expected=1)

    assert [m["channel"] for m in sent] == ["email"]
    listed = runtime.merchant(key, "GET", f"/v1/orders/{created['order_id']}/notifications")
    [sms] = listed.json()["sms"]
    assert sms["state"] == "skipped" and sms["reason"]


def test_a_driven_route_sends_each_message_once_per_channel(runtime: Runtime) -> None:
    found = dispatched(runtime, vehicles=1, orders=2, phone=PHONE)
    [route] = found["run"]["routes"]
    first = route["stops"][0]["order_id"]
    headers = {"Authorization": f"Bearer {route['driver_token']}"}
    url = runtime.url(f"/v1/routes/{route['route_id']}/events")
    for _ in range(3):  # a phone retrying each event
        requests.post(
            url, json={"type": "departed", "event_id": "n-dep"}, headers=headers, timeout=30
        )
        requests.post(
            url,
            json={"type": "delivered", "event_id": "n-dlv", "order_id": first},
            headers=headers,
            timeout=30,
        )

    # confirmed, planned, out for delivery, arriving, delivered: one email and one SMS each.
    sent = messages_for(runtime, first, expected=10)
    assert Counter(m["channel"] for m in sent) == {"email": 5, "sms": 5}
    subjects = [m["subject"] for m in sent if m["channel"] == "email"]
    assert len(set(subjects)) == 5, subjects
    assert len({m["body"] for m in sent if m["channel"] == "sms"}) == 5


def test_a_merchant_switches_a_message_off(runtime: Runtime) -> None:
    created = runtime.admin(
        "POST", "/v1/merchants", json={"name": "Quiet Shop", "depot_id": runtime.demo["depot_id"]}
    ).json()
    key = created["api_key"]
    off = {"off": [{"type": "order.confirmed", "channel": "sms"}]}
    stored = runtime.merchant(key, "PUT", "/v1/notification-preferences", json=off)
    assert stored.status_code == 200 and stored.json() == off
    assert runtime.merchant(key, "GET", "/v1/notification-preferences").json() == off
    bad = {"off": [{"type": "order.teleported", "channel": "sms"}]}
    assert runtime.merchant(key, "PUT", "/v1/notification-preferences", json=bad).status_code == 422

    body = an_order(external_id="quiet-1")
    body["customer"] = {"name": "Mary Somerville", "email": "mary@example.com", "phone": PHONE}
    order_id = runtime.merchant(key, "POST", "/v1/orders", json=body).json()["order_id"]

    sent = messages_for(runtime, order_id, expected=1)
    assert [m["channel"] for m in sent] == ["email"]
    [sms] = runtime.merchant(key, "GET", f"/v1/orders/{order_id}/notifications").json()["sms"]
    assert (sms["state"], sms["reason"]) == ("skipped", "switched off by the merchant")


def test_sendgrid_throttling_then_accepting_sends_one_email(runtime: Runtime) -> None:
    scripted = requests.post(
        runtime.url("/local/vendors/sendgrid/script"), json={"statuses": [429, 202]}, timeout=10
    )
    assert scripted.status_code == 200
    key = runtime.demo["api_key"]
    body = an_order(external_id="throttled-1")
    body["customer"] = {"name": "Tim Berners-Lee", "email": "tim@example.com"}
    order_id = runtime.merchant(key, "POST", "/v1/orders", json=body).json()["order_id"]

    sent = messages_for(runtime, order_id, expected=1)

    assert [m["channel"] for m in sent] == ["email"]
    [email] = runtime.merchant(key, "GET", f"/v1/orders/{order_id}/notifications").json()["email"]
    assert (email["state"], email["attempts"]) == ("sent", 2)
