"""WooCommerce, Standard Webhooks and Stripe storefronts, over HTTP, as each platform sends."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter

import pytest
import requests

from tests.builders import (
    an_order,
    sample,
    standard_headers,
    stripe_headers,
    woocommerce_headers,
)
from tests.e2e.conftest import Runtime

WC_SECRET = "wc_secret_for_e2e_tests"
STRIPE_ACCOUNT = "acct_1SVq1AQ9RKHgCVdK"


@pytest.fixture(scope="module")
def shop(runtime: Runtime) -> dict[str, str]:
    """A merchant selling through WooCommerce, Stripe Checkout and a generic platform."""
    response = runtime.admin(
        "POST",
        "/v1/merchants",
        json={
            "name": "Every Platform Ltd",
            "depot_id": runtime.demo["depot_id"],
            "woocommerce_secret": WC_SECRET,
            "stripe_account_id": STRIPE_ACCOUNT,
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def orders_for(runtime: Runtime, shop: dict[str, str], external_id: str) -> list[dict]:
    response = runtime.merchant(shop["api_key"], "GET", f"/v1/orders?external_id={external_id}")
    assert response.status_code == 200
    return response.json()["orders"]


# --- WooCommerce -----------------------------------------------------------------------------


def send_wc(
    runtime: Runtime,
    shop: dict,
    payload: dict,
    *,
    topic: str = "order.created",
    secret: str = WC_SECRET,
) -> requests.Response:
    body = json.dumps(payload).encode()
    return requests.post(
        runtime.url(f"/v1/webhooks/woocommerce/{shop['merchant_id']}"),
        data=body,
        headers=woocommerce_headers(secret, body, topic=topic),
        timeout=30,
    )


def test_woocommerce_ping_is_200_and_writes_nothing(runtime: Runtime, shop: dict) -> None:
    response = requests.post(
        runtime.url(f"/v1/webhooks/woocommerce/{shop['merchant_id']}"),
        data="webhook_id=17",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.json()["outcome"] == "ignored"
    assert runtime.merchant(shop["api_key"], "GET", "/v1/orders").json()["orders"] == []


def test_woocommerce_order_created_once_for_five_deliveries(runtime: Runtime, shop: dict) -> None:
    payload = sample("woocommerce", "order_created", id=9001)
    outcomes = [send_wc(runtime, shop, payload).json()["outcome"] for _ in range(5)]
    assert outcomes == ["created"] + ["duplicate"] * 4
    [order] = orders_for(runtime, shop, "9001")
    # The sample ships to Edinburgh, 530 km from the London depot: kept, for a person.
    assert order["status"] == "needs_attention"
    assert order["attention_reason"] == "out_of_area"
    assert order["address"]["lat"] == 55.9507


def test_woocommerce_bad_signature_is_401_and_writes_nothing(runtime: Runtime, shop: dict) -> None:
    response = send_wc(
        runtime, shop, sample("woocommerce", "order_created", id=9002), secret="wrong"
    )
    assert response.status_code == 401
    assert orders_for(runtime, shop, "9002") == []


def test_woocommerce_update_before_create_yields_one_correct_order(
    runtime: Runtime, shop: dict
) -> None:
    created = sample(
        "woocommerce", "order_created", id=9003, date_modified_gmt="2026-11-20T10:41:09"
    )
    updated = sample(
        "woocommerce", "order_created", id=9003, date_modified_gmt="2026-11-20T11:00:00"
    )
    updated["shipping"] = updated["shipping"] | {"address_2": "Ring twice"}
    first = send_wc(runtime, shop, updated, topic="order.updated")
    second = send_wc(runtime, shop, created, topic="order.created")
    assert (first.json()["outcome"], second.json()["outcome"]) == ("created", "stale")
    [order] = orders_for(runtime, shop, "9003")
    assert order["address"]["line2"] == "Ring twice"


def test_woocommerce_cancelled_status_cancels(runtime: Runtime, shop: dict) -> None:
    send_wc(runtime, shop, sample("woocommerce", "order_created", id=9004))
    cancelled = sample(
        "woocommerce",
        "order_created",
        id=9004,
        status="cancelled",
        date_modified_gmt="2026-11-20T12:00:00",
    )
    assert send_wc(runtime, shop, cancelled, topic="order.updated").json()["outcome"] == (
        "cancelled"
    )
    assert orders_for(runtime, shop, "9004")[0]["status"] == "cancelled"


# --- Standard Webhooks -----------------------------------------------------------------------


def send_generic(
    runtime: Runtime,
    shop: dict,
    payload: dict,
    *,
    msg_id: str | None = None,
    secret: str | None = None,
    at=None,
) -> requests.Response:
    body = json.dumps(payload).encode()
    headers = standard_headers(
        secret or shop["webhook_secret"], body, msg_id=msg_id or f"msg_{uuid.uuid4().hex}", at=at
    )
    return requests.post(
        runtime.url(f"/v1/webhooks/generic/{shop['merchant_id']}"),
        data=body,
        headers=headers,
        timeout=30,
    )


def test_generic_order_created_once_for_five_deliveries(runtime: Runtime, shop: dict) -> None:
    payload = sample("standard", "order_created")
    outcomes = [
        send_generic(runtime, shop, payload, msg_id="msg_e2e_five").json()["outcome"]
        for _ in range(5)
    ]
    assert outcomes == ["created"] + ["duplicate"] * 4
    [order] = orders_for(runtime, shop, "SO-2026-000871")
    assert len(order["parcels"]) == 2
    assert order["delivery"]["window"]["start"].startswith("2026-11-21T14:00")


def test_generic_bad_signature_or_stale_timestamp_is_401(runtime: Runtime, shop: dict) -> None:
    payload = sample("standard", "order_created")
    payload["data"]["external_id"] = "SO-REFUSED"
    from datetime import UTC, datetime, timedelta

    wrong = send_generic(runtime, shop, payload, secret="whsec_d3JvbmcgZWUgc2VjcmV0")
    stale = send_generic(runtime, shop, payload, at=datetime.now(UTC) - timedelta(minutes=6))
    assert (wrong.status_code, stale.status_code) == (401, 401)
    assert orders_for(runtime, shop, "SO-REFUSED") == []


def test_generic_invalid_order_is_422_naming_the_field(runtime: Runtime, shop: dict) -> None:
    payload = sample("standard", "order_created")
    payload["data"]["external_id"] = "SO-INVALID"
    payload["data"]["delivery"]["window"]["end"] = "2026-11-21T13:00:00+00:00"
    response = send_generic(runtime, shop, payload)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "data.delivery.window"
    assert orders_for(runtime, shop, "SO-INVALID") == []


def test_fifty_concurrent_deliveries_of_one_event_make_one_order(
    runtime: Runtime, shop: dict
) -> None:
    payload = sample("standard", "order_created")
    payload["data"]["external_id"] = "SO-CONCURRENT"
    body = json.dumps(payload).encode()
    headers = standard_headers(shop["webhook_secret"], body, msg_id="msg_concurrent")
    url = runtime.url(f"/v1/webhooks/generic/{shop['merchant_id']}")
    results: list[tuple[int, str]] = []
    lock = threading.Lock()
    start = threading.Barrier(50)

    def deliver() -> None:
        start.wait()
        response = requests.post(url, data=body, headers=headers, timeout=60)
        with lock:
            results.append((response.status_code, response.json().get("outcome", "")))

    threads = [threading.Thread(target=deliver) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counts = Counter(outcome for _, outcome in results)
    assert all(status == 200 for status, _ in results), results
    assert counts["created"] == 1
    assert counts["duplicate"] == 49
    assert len(orders_for(runtime, shop, "SO-CONCURRENT")) == 1


# --- Stripe Checkout -------------------------------------------------------------------------


def send_stripe(
    runtime: Runtime, payload: dict, *, at: int | None = None, secret: str | None = None
) -> requests.Response:
    body = json.dumps(payload).encode()
    headers = stripe_headers(secret or runtime.info["stripe_webhook_secret"], body, at=at)
    return requests.post(runtime.url("/v1/webhooks/stripe"), data=body, headers=headers, timeout=30)


def test_stripe_checkout_becomes_an_order_of_the_account_owner(
    runtime: Runtime, shop: dict
) -> None:
    payload = sample("stripe", "checkout_session_completed")
    outcomes = [send_stripe(runtime, payload).json()["outcome"] for _ in range(5)]
    assert outcomes == ["created"] + ["duplicate"] * 4
    session_id = payload["data"]["object"]["id"]
    [order] = orders_for(runtime, shop, session_id)
    # No coordinates and no geocoder in the local stage: held, with the reason, not dropped.
    assert order["status"] == "needs_attention"
    assert "geocoder" in order["attention_reason"]


def test_stripe_stale_timestamp_or_bad_signature_is_401(runtime: Runtime, shop: dict) -> None:
    payload = sample("stripe", "checkout_session_completed", id="evt_stale_one")
    payload["data"]["object"]["id"] = "cs_stale_one"
    stale = send_stripe(runtime, payload, at=int(time.time()) - 400)
    wrong = send_stripe(runtime, payload, secret="whsec_wrong")
    assert (stale.status_code, wrong.status_code) == (401, 401)
    assert orders_for(runtime, shop, "cs_stale_one") == []


def test_stripe_other_events_and_unknown_accounts_are_acknowledged(runtime: Runtime) -> None:
    refund = sample("stripe", "checkout_session_completed", id="evt_other", type="charge.refunded")
    stranger = sample(
        "stripe", "checkout_session_completed", id="evt_stranger", account="acct_nobodyknows"
    )
    for payload in (refund, stranger):
        response = send_stripe(runtime, payload)
        assert response.status_code == 200
        assert response.json()["outcome"] == "ignored"


# --- Held orders and limits ------------------------------------------------------------------


def test_order_without_coordinates_continues_after_patch(runtime: Runtime, shop: dict) -> None:
    address = {"line1": "1 Unknown Lane", "city": "Bath", "postcode": "BA1 1AA", "country": "GB"}
    created = runtime.merchant(
        shop["api_key"], "POST", "/v1/orders", json=an_order(external_id="held-1", address=address)
    )
    assert created.status_code == 201
    assert created.json()["status"] == "needs_attention"
    order_id = created.json()["order_id"]
    fixed = runtime.merchant(
        shop["api_key"],
        "PATCH",
        f"/v1/orders/{order_id}",
        json={"address": address | {"lat": 51.3811, "lng": -2.359}},
    )
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["status"] == "ready"
    detail = runtime.merchant(shop["api_key"], "GET", f"/v1/orders/{order_id}").json()
    assert [e["status"] for e in detail["timeline"]] == [
        "received",
        "needs_attention",
        "needs_attention",
        "ready",
    ]
    other = runtime.merchant(
        runtime.demo["api_key"],
        "PATCH",
        f"/v1/orders/{order_id}",
        json={"address": address | {"lat": 1, "lng": 1}},
    )
    assert other.status_code == 404


def test_bodies_over_one_megabyte_are_413(runtime: Runtime, shop: dict) -> None:
    body = b'{"pad": "' + b"x" * 1_100_000 + b'"}'
    for path in (f"/v1/webhooks/generic/{shop['merchant_id']}", "/v1/webhooks/stripe"):
        response = requests.post(
            runtime.url(path), data=body, headers={"Content-Type": "application/json"}, timeout=30
        )
        assert response.status_code == 413
    direct = runtime.merchant(
        shop["api_key"],
        "POST",
        "/v1/orders",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    assert direct.status_code == 413


def test_too_many_parcels_is_422_naming_the_field(runtime: Runtime, shop: dict) -> None:
    body = an_order(external_id="too-many", parcels=[{"weight_kg": 1}] * 501)
    response = runtime.merchant(shop["api_key"], "POST", "/v1/orders", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "parcels"
