"""Test data: canonical orders, real storefront samples, and their signatures."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

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
