"""Test data: canonical orders, real storefront samples, and their signatures."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from standardwebhooks.webhooks import Webhook

EVENTS = Path(__file__).parent / "events"


def an_order(**overrides: Any) -> dict[str, Any]:
    """A canonical order body (as POST /v1/orders takes it), overridden where given."""
    order: dict[str, Any] = {
        "external_id": "ext-1001",
        "customer": {
            "name": "Grace Hopper",
            "email": "grace@example.com",
            "phone": "+447700900456",
        },
        "address": {
            "line1": "221B Baker Street",
            "city": "London",
            "postcode": "NW1 6XE",
            "country": "GB",
            "lat": 51.5238,
            "lng": -0.1586,
        },
        "parcels": [{"weight_kg": 2.5, "size": "M"}],
        "delivery": {"type": "home"},
    }
    order.update(overrides)
    return order


def shopify_sample(name: str = "orders_create", **overrides: Any) -> dict[str, Any]:
    """A real Shopify order webhook payload from tests/events/shopify, overridden where given."""
    payload = json.loads((EVENTS / "shopify" / f"{name}.json").read_text())
    payload = copy.deepcopy(payload)
    payload.update(overrides)
    return payload


def shopify_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def shopify_hmac(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def shopify_headers(
    secret: str, body: bytes, *, topic: str = "orders/create", event_id: str = "evt-1"
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": shopify_hmac(secret, body),
        "X-Shopify-Event-Id": event_id,
        "X-Shopify-Shop-Domain": "demo-goods.myshopify.com",
        "X-Shopify-API-Version": "2025-10",
        "X-Shopify-Webhook-Id": f"wh-{event_id}",
    }


def sample(platform: str, name: str, **overrides: Any) -> dict[str, Any]:
    """A real payload from tests/events/<platform>/<name>.json, overridden where given."""
    payload = json.loads((EVENTS / platform / f"{name}.json").read_text())
    payload.update(overrides)
    return payload


def woocommerce_headers(
    secret: str, body: bytes, *, topic: str = "order.created", delivery_id: str = "1"
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-WC-Webhook-Source": "https://shop.example.org/",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": topic.split(".")[0],
        "X-WC-Webhook-Event": topic.split(".")[1],
        "X-WC-Webhook-Signature": shopify_hmac(secret, body),
        "X-WC-Webhook-ID": "17",
        "X-WC-Webhook-Delivery-ID": delivery_id,
    }


def standard_headers(
    secret: str, body: bytes, *, msg_id: str, at: datetime | None = None
) -> dict[str, str]:
    """Headers as a Standard Webhooks sender makes them (signed with the reference library)."""
    at = at or datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id=msg_id, timestamp=at, data=body.decode())
    return {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }


def stripe_headers(secret: str, body: bytes, *, at: int | None = None) -> dict[str, str]:
    """A Stripe-Signature header made as Stripe makes it: t=<ts>,v1=HMAC(secret, "t.body")."""
    at = at if at is not None else int(time.time())
    signed = f"{at}.".encode() + body
    v1 = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "Stripe-Signature": f"t={at},v1={v1}"}
