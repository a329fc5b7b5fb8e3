"""Orders as the storefront platforms send them, for the benchmarks: Shopify, WooCommerce and
Standard Webhooks order-created webhooks, each signed the way its platform signs it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from standardwebhooks.webhooks import Webhook

PLATFORMS = ("shopify", "woocommerce", "generic")
FIRST_NAMES = ("Ada", "Grace", "Mary", "Dorothy", "Alan", "Edsger", "Barbara", "Donald")
LAST_NAMES = ("Lovelace", "Hopper", "Somerville", "Hodgkin", "Turing", "Dijkstra", "Liskov")


@dataclass(frozen=True)
class Shop:
    """A merchant selling through one platform, and the secret that platform signs with."""

    platform: str
    merchant_id: str
    api_key: str
    secret: str


@dataclass(frozen=True)
class Customer:
    """One bench customer: where the parcel goes and how to reach them (both channels)."""

    number: int
    first_name: str
    last_name: str
    email: str
    phone: str
    lat: float
    lng: float


@dataclass(frozen=True)
class SignedWebhook:
    path: str
    body: bytes
    headers: dict[str, str]


def customers(n: int, centre: tuple[float, float], seed: int = 1) -> list[Customer]:
    """n customers over a city of about 20 x 20 km around `centre`, the same every run."""
    rng = random.Random(seed)  # noqa: S311 (benchmark data, not secrets)
    return [
        Customer(
            number=i,
            first_name=FIRST_NAMES[i % len(FIRST_NAMES)],
            last_name=LAST_NAMES[i % len(LAST_NAMES)],
            email=f"customer{i}@example.com",
            # A valid UK mobile number (notify refuses Ofcom's drama range); the local runtime
            # captures every SMS, so none reaches a phone.
            phone=f"+447911{i % 1_000_000:06d}",
            lat=round(centre[0] + rng.uniform(-0.09, 0.09), 5),
            lng=round(centre[1] + rng.uniform(-0.14, 0.14), 5),
        )
        for i in range(n)
    ]


def order_created(shop: Shop, customer: Customer, external_id: str) -> SignedWebhook:
    """The platform's order-created webhook for one parcel to `customer`, signed."""
    now = datetime.now(UTC)
    if shop.platform == "shopify":
        return _shopify(shop, customer, external_id, now)
    if shop.platform == "woocommerce":
        return _woocommerce(shop, customer, external_id, now)
    return _generic(shop, customer, external_id, now)


def _base64_hmac(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _shopify(shop: Shop, c: Customer, external_id: str, now: datetime) -> SignedWebhook:
    address = {
        "first_name": c.first_name,
        "last_name": c.last_name,
        "address1": f"{c.number + 1} Bench Road",
        "city": "London",
        "zip": "E1 6AN",
        "country_code": "GB",
        "phone": c.phone,
        "latitude": c.lat,
        "longitude": c.lng,
    }
    payload = {
        "id": external_id,
        "updated_at": now.isoformat(),
        "email": c.email,
        "customer": {"first_name": c.first_name, "last_name": c.last_name, "email": c.email},
        "shipping_address": address,
        "line_items": [{"quantity": 1, "grams": 1200, "requires_shipping": True}],
    }
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Hmac-Sha256": _base64_hmac(shop.secret, body),
        "X-Shopify-Event-Id": f"evt-{external_id}",
        "X-Shopify-Shop-Domain": "bench-shop.myshopify.com",
        "X-Shopify-API-Version": "2025-10",
        "X-Shopify-Webhook-Id": f"wh-{external_id}",
    }
    return SignedWebhook(f"/v1/webhooks/shopify/{shop.merchant_id}", body, headers)


def _woocommerce(shop: Shop, c: Customer, external_id: str, now: datetime) -> SignedWebhook:
    modified = now.strftime("%Y-%m-%dT%H:%M:%S")
    address = {
        "first_name": c.first_name,
        "last_name": c.last_name,
        "address_1": f"{c.number + 1} Bench Road",
        "city": "London",
        "postcode": "E1 6AN",
        "country": "GB",
    }
    payload = {
        "id": external_id,
        "status": "processing",
        "date_modified_gmt": modified,
        "billing": address | {"email": c.email, "phone": c.phone},
        "shipping": address,
        "line_items": [{"quantity": 1}],
        "meta_data": [
            {"key": "_shipping_lat", "value": str(c.lat)},
            {"key": "_shipping_lng", "value": str(c.lng)},
        ],
    }
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-WC-Webhook-Source": "https://bench-shop.example.org/",
        "X-WC-Webhook-Topic": "order.created",
        "X-WC-Webhook-Resource": "order",
        "X-WC-Webhook-Event": "created",
        "X-WC-Webhook-Signature": _base64_hmac(shop.secret, body),
        "X-WC-Webhook-ID": "17",
        "X-WC-Webhook-Delivery-ID": external_id,
    }
    return SignedWebhook(f"/v1/webhooks/woocommerce/{shop.merchant_id}", body, headers)


def _generic(shop: Shop, c: Customer, external_id: str, now: datetime) -> SignedWebhook:
    order: dict[str, Any] = {
        "external_id": external_id,
        "updated_at": now.isoformat().replace("+00:00", "Z"),
        "customer": {"name": f"{c.first_name} {c.last_name}", "email": c.email, "phone": c.phone},
        "address": {
            "line1": f"{c.number + 1} Bench Road",
            "city": "London",
            "postcode": "E1 6AN",
            "country": "GB",
            "lat": c.lat,
            "lng": c.lng,
        },
        "parcels": [{"weight_kg": 1.2, "size": "M"}],
        "delivery": {"type": "home"},
    }
    body = json.dumps({"type": "order.created", "data": order}).encode()
    msg_id = f"msg_{external_id}"
    signature = Webhook(shop.secret).sign(msg_id=msg_id, timestamp=now, data=body.decode())
    headers = {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    return SignedWebhook(f"/v1/webhooks/generic/{shop.merchant_id}", body, headers)
