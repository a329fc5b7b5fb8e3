"""Intake under attack and carelessness, over HTTP: a signed body re-sent under another topic, one
event delivered 20 times at once, and a table of bad values per platform, each refused with a
4xx that names the field and leaving nothing behind (no order, no receipt, no lookup)."""

from __future__ import annotations

import copy
import json
import secrets
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from tests.builders import (
    an_order,
    sample,
    shopify_headers,
    shopify_sample,
    standard_headers,
    stripe_headers,
    woocommerce_headers,
)
from tests.e2e.conftest import Runtime

SHOPIFY_SECRET = "shpss_hardening_e2e_secret"
WC_SECRET = "wc_hardening_e2e_secret"
STRIPE_ACCOUNT = "acct_1HardeningE2E0001"


@pytest.fixture(scope="module")
def shop(runtime: Runtime) -> dict[str, str]:
    """A merchant of its own on every platform, so counting its orders counts only ours."""
    response = runtime.admin(
        "POST",
        "/v1/merchants",
        json={
            "name": "Hardened Shop",
            "depot_id": runtime.demo["depot_id"],
            "shopify_secret": SHOPIFY_SECRET,
            "woocommerce_secret": WC_SECRET,
            "stripe_account_id": STRIPE_ACCOUNT,
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


@dataclass
class Event:
    """One delivery as its platform makes it: the payload is signed when it is sent."""

    platform: str
    external_id: str
    event_id: str
    payload: Any
    topic: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    def send(self, runtime: Runtime, shop: dict[str, str]) -> requests.Response:
        url, body, headers = self.request(runtime, shop)
        return requests.post(url, data=body, headers=headers, timeout=60)

    def request(self, runtime: Runtime, shop: dict[str, str]) -> tuple[str, bytes, dict]:
        body = json.dumps(self.payload).encode()
        merchant = shop["merchant_id"]
        if self.platform == "shopify":
            headers = shopify_headers(
                SHOPIFY_SECRET, body, topic=self.topic or "orders/create", event_id=self.event_id
            )
            url = f"/v1/webhooks/shopify/{merchant}"
        elif self.platform == "woocommerce":
            headers = woocommerce_headers(WC_SECRET, body, topic=self.topic or "order.created")
            url = f"/v1/webhooks/woocommerce/{merchant}"
        elif self.platform == "generic":
            headers = standard_headers(shop["webhook_secret"], body, msg_id=self.event_id)
            url = f"/v1/webhooks/generic/{merchant}"
        elif self.platform == "stripe":
            headers = stripe_headers(runtime.info["stripe_webhook_secret"], body)
            url = "/v1/webhooks/stripe"
        else:
            headers = {
                "Authorization": f"Bearer {shop['api_key']}",
                "Content-Type": "application/json",
                "Idempotency-Key": self.event_id,
            }
            url = "/v1/orders"
        return runtime.url(url), body, headers | self.headers


def an_event(platform: str) -> Event:
    """A valid new event of `platform`, with ids no other test uses."""
    tag = secrets.token_hex(6)
    number = int(tag, 16)
    if platform == "shopify":
        return Event(platform, str(number), f"evt-{tag}", shopify_sample(id=number))
    if platform == "woocommerce":
        payload = sample("woocommerce", "order_created", id=number)
        return Event(platform, str(number), f"{number}@{payload['date_modified_gmt']}", payload)
    if platform == "generic":
        payload = sample("standard", "order_created")
        payload["data"]["external_id"] = f"SO-{tag}"
        return Event(platform, f"SO-{tag}", f"msg_{tag}", payload)
    if platform == "stripe":
        payload = sample("stripe", "checkout_session_completed", id=f"evt_{tag}")
        payload["account"] = STRIPE_ACCOUNT
        payload["data"]["object"]["id"] = f"cs_test_{tag}"
        return Event(platform, f"cs_test_{tag}", f"evt_{tag}", payload)
    return Event(platform, f"api-{tag}", f"idem-{tag}", an_order(external_id=f"api-{tag}"))


def orders_for(runtime: Runtime, shop: dict[str, str], external_id: str | None = None) -> list:
    path = "/v1/orders" + (
        f"?external_id={requests.utils.quote(external_id)}" if external_id else ""
    )
    response = runtime.merchant(shop["api_key"], "GET", path)
    assert response.status_code == 200, response.text
    return response.json()["orders"]


def outcome(response: requests.Response) -> str:
    """A webhook's `outcome`; POST /v1/orders says it by status (201 new, 200 seen before)."""
    if "outcome" in response.json():
        return str(response.json()["outcome"])
    return {201: "created", 200: "duplicate"}.get(response.status_code, "")


# --- the topic routes; the signed body decides --------------------------------------------------


def test_a_signed_shopify_create_resent_as_cancelled_does_not_cancel(
    runtime: Runtime, shop: dict
) -> None:
    event = an_event("shopify")
    assert outcome(event.send(runtime, shop)) == "created"
    replay = Event("shopify", event.external_id, "evt-replay-" + event.event_id, event.payload)
    replay.topic = "orders/cancelled"
    response = replay.send(runtime, shop)
    assert response.status_code == 200, response.text
    assert outcome(response) != "cancelled"
    [order] = orders_for(runtime, shop, event.external_id)
    assert order["status"] == "ready"


def test_a_cancelled_shopify_order_is_not_revived_by_a_replayed_create(
    runtime: Runtime, shop: dict
) -> None:
    event = an_event("shopify")
    event.send(runtime, shop)
    cancelled = shopify_sample("orders_cancelled", id=int(event.external_id))
    cancel = Event("shopify", event.external_id, event.event_id + "-c", cancelled)
    cancel.topic = "orders/updated"  # Shopify also tells a cancellation as an update
    assert outcome(cancel.send(runtime, shop)) == "cancelled"
    replay = Event("shopify", event.external_id, event.event_id + "-r", event.payload)
    replay.topic = "orders/updated"
    assert replay.send(runtime, shop).status_code == 200
    [order] = orders_for(runtime, shop, event.external_id)
    assert order["status"] == "cancelled"


def test_a_signed_woocommerce_order_resent_as_deleted_does_not_cancel(
    runtime: Runtime, shop: dict
) -> None:
    event = an_event("woocommerce")
    assert outcome(event.send(runtime, shop)) == "created"
    event.topic = "order.deleted"
    response = event.send(runtime, shop)
    assert response.status_code == 200, response.text
    assert outcome(response) == "duplicate"  # the same version of the order, seen before
    [order] = orders_for(runtime, shop, event.external_id)
    # Still open: held as the sample's Edinburgh address is outside the London depot's area.
    assert order["status"] == "needs_attention"
    assert order["attention_reason"] == "out_of_area"


# --- one event, 20 deliveries at once -----------------------------------------------------------


@pytest.mark.parametrize("platform", ["shopify", "woocommerce", "generic", "stripe", "api"])
def test_twenty_parallel_deliveries_of_one_event_make_one_order(
    runtime: Runtime, shop: dict, platform: str
) -> None:
    event = an_event(platform)
    url, body, headers = event.request(runtime, shop)  # one signature, as a retrying sender has
    start = threading.Barrier(20)

    def deliver(_: int) -> requests.Response:
        start.wait()
        return requests.post(url, data=body, headers=headers, timeout=120)

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(deliver, range(20)))
    assert all(200 <= a.status_code < 300 for a in answers), [a.text for a in answers]
    assert Counter(outcome(a) for a in answers) == {"created": 1, "duplicate": 19}
    [order] = orders_for(runtime, shop, event.external_id)
    assert {a.json()["order_id"] for a in answers} == {order["order_id"]}


# --- a table of bad values: 4xx naming the field, nothing written ------------------------------

Change = Callable[[Event], None]
BIG = "\U0001f4e6" * 64  # 64 characters of 4 bytes: within 128 characters, over 255 bytes
LONG_HEADER = "e" * 600  # over 512 bytes


def _set(path: str, value: Any) -> Change:
    def change(event: Event) -> None:
        *parents, last = path.split(".")
        target = event.payload
        for step in parents:
            target = target[int(step)] if isinstance(target, list) else target[step]
        target[last] = value

    return change


def _header(name: str, value: str) -> Change:
    def change(event: Event) -> None:
        event.headers[name] = value

    return change


def _event_id(value: str) -> Change:
    def change(event: Event) -> None:
        event.event_id = value
        if event.platform == "stripe":
            event.payload["id"] = value

    return change


def _external_id(value: str) -> Change:
    paths = {
        "shopify": "id",
        "woocommerce": "id",
        "generic": "data.external_id",
        "stripe": "data.object.id",
        "api": "external_id",
    }

    def change(event: Event) -> None:
        _set(paths[event.platform], value)(event)
        event.external_id = value

    return change


BAD: list[tuple[str, str, Change, str]] = [
    # (platform, what is wrong, the change, the field named)
    ("shopify", "time is garbage", _set("updated_at", "garbage"), "updated_at"),
    ("shopify", "time is naive", _set("updated_at", "2026-11-20T09:14:28"), "updated_at"),
    ("shopify", "time in year 9999", _set("updated_at", "9999-12-31T23:59:59Z"), "updated_at"),
    ("shopify", "latitude out of range", _set("shipping_address.latitude", 95.0), "address.lat"),
    (  # past what DynamoDB stores: the body's parser refuses it where it stands
        "shopify",
        "latitude past a storable number",
        _set("shipping_address.latitude", 1e308),
        "shipping_address.latitude",
    ),
    (
        "shopify",
        "quantity past any parcel",
        _set("line_items.0.quantity", 10**12),
        "line_items.0.quantity",
    ),
    ("shopify", "id over 255 bytes", _external_id(BIG), "id"),
    (
        "shopify",
        "event id over 512 bytes",
        _header("X-Shopify-Event-Id", LONG_HEADER),
        "X-Shopify-Event-Id",
    ),
    ("woocommerce", "time is garbage", _set("date_modified_gmt", "garbage"), "date_modified_gmt"),
    (
        "woocommerce",
        "time in year 9999",
        _set("date_modified_gmt", "9999-12-31T23:59:59"),
        "date_modified_gmt",
    ),
    ("woocommerce", "latitude is infinite", _set("meta_data.0.value", "1e400"), "address.lat"),
    ("woocommerce", "id over 255 bytes", _external_id(BIG), "id"),
    ("generic", "time is garbage", _set("data.updated_at", "garbage"), "data.updated_at"),
    ("generic", "time is naive", _set("data.updated_at", "2026-11-20T12:05:30"), "data.updated_at"),
    (
        "generic",
        "weight underflows",
        _set("data.parcels.0.weight_kg", 1e-200),
        "data.parcels.0.weight_kg",
    ),
    (
        "generic",
        "window in year 9999",
        _set("data.delivery.window.start", "9999-12-31T10:00:00Z"),
        "data.delivery.window.start",
    ),
    ("generic", "external id over 255 bytes", _external_id(BIG), "data.external_id"),
    ("generic", "webhook-id over 512 bytes", _event_id("msg_" + LONG_HEADER), "webhook-id"),
    ("stripe", "event id over 512 bytes", _event_id("evt_" + BIG * 3), "id"),
    ("stripe", "session id over 255 bytes", _external_id("cs_" + BIG), "data.object.id"),
    (
        "stripe",
        "weight underflows",
        _set("data.object.metadata", {"lastmile_weight_kg": "1e-200"}),
        "parcels.0.weight_kg",
    ),
    ("api", "time is garbage", _set("updated_at", "garbage"), "updated_at"),
    ("api", "weight underflows", _set("parcels.0.weight_kg", 1e-200), "parcels.0.weight_kg"),
    ("api", "external id over 255 bytes", _external_id(BIG), "external_id"),
    ("api", "Idempotency-Key over 512 bytes", _event_id(LONG_HEADER), "Idempotency-Key"),
]


# A number no DynamoDB item can hold may be refused by the JSON parser already (400) rather
# than by the field's validation (422 naming it): either keeps it out of the store.
PARSER_MAY_REFUSE = {"weight underflows"}


@pytest.mark.parametrize(
    ("platform", "what", "change", "named"),
    [pytest.param(p, what, c, n, id=f"{p}: {what}") for p, what, c, n in BAD],
)
def test_a_bad_value_is_refused_naming_the_field_and_nothing_is_written(
    runtime: Runtime, shop: dict, platform: str, what: str, change: Change, named: str
) -> None:
    good = an_event(platform)
    bad = copy.deepcopy(good)
    change(bad)
    before = len(orders_for(runtime, shop))

    response = bad.send(runtime, shop)

    if what in PARSER_MAY_REFUSE and response.status_code == 400:
        assert response.json()["error"]["code"] == "malformed_body"
    else:
        assert response.status_code == 422, response.text
        assert response.json()["error"]["field"] == named
    assert orders_for(runtime, shop, bad.external_id) == []
    assert len(orders_for(runtime, shop)) == before
    # The same event made valid is new: no receipt of its event id and no lookup of its order
    # were left behind (either would make it a duplicate or a conflict).
    follow_up = good.send(runtime, shop)
    assert outcome(follow_up) == "created", follow_up.text
    assert len(orders_for(runtime, shop, good.external_id)) == 1
