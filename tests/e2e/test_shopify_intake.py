"""A Shopify storefront's webhooks, sent over HTTP to the local runtime as Shopify sends them."""

from __future__ import annotations

import json
import re
import uuid

import requests

from tests.builders import shopify_body, shopify_headers, shopify_sample
from tests.e2e.conftest import Runtime


def send(
    runtime: Runtime,
    payload: dict,
    *,
    topic: str = "orders/create",
    event_id: str | None = None,
    secret: str | None = None,
    merchant_id: str | None = None,
    body: bytes | None = None,
    headers: dict | None = None,
) -> requests.Response:
    body = body if body is not None else shopify_body(payload)
    secret = secret or runtime.demo["shopify_secret"]
    hdrs = shopify_headers(secret, body, topic=topic, event_id=event_id or str(uuid.uuid4()))
    hdrs.update(headers or {})
    merchant_id = merchant_id or runtime.demo["merchant_id"]
    return requests.post(
        runtime.url(f"/v1/webhooks/shopify/{merchant_id}"), data=body, headers=hdrs, timeout=30
    )


def orders_for(runtime: Runtime, external_id: str, api_key: str | None = None) -> list[dict]:
    response = runtime.merchant(
        api_key or runtime.demo["api_key"], "GET", f"/v1/orders?external_id={external_id}"
    )
    assert response.status_code == 200, response.text
    return response.json()["orders"]


def a_payload(external_id: str, **overrides: object) -> dict:
    return shopify_sample(id=int(external_id), **overrides)


def test_orders_create_stores_one_order_readable_at_once(runtime: Runtime) -> None:
    payload = a_payload("5987654321098765432")
    response = send(runtime, payload)
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "created"
    order_id = response.json()["order_id"]

    detail = runtime.merchant(runtime.demo["api_key"], "GET", f"/v1/orders/{order_id}")
    assert detail.status_code == 200
    order = detail.json()
    assert order["external_id"] == "5987654321098765432"
    assert order["status"] == "ready"
    assert order["address"]["postcode"] == "WC1N 1AF"
    [parcel] = order["parcels"]
    assert parcel["weight_kg"] == 1.85
    assert re.fullmatch(r"LM[A-Z2-7]{16}", parcel["label"])
    assert order["tracking_url"].endswith("/track/" + order["tracking_code"])
    assert [e["status"] for e in order["timeline"]] == ["received", "ready"]


def test_the_same_event_five_times_makes_one_order(runtime: Runtime) -> None:
    payload = a_payload("7000000000000000001")
    outcomes = [send(runtime, payload, event_id="evt-five").json()["outcome"] for _ in range(5)]
    assert outcomes == ["created"] + ["duplicate"] * 4
    assert len(orders_for(runtime, "7000000000000000001")) == 1


def test_a_new_delivery_of_the_same_order_does_not_duplicate_it(runtime: Runtime) -> None:
    payload = a_payload("7000000000000000002")
    send(runtime, payload, event_id="evt-a")
    second = send(runtime, payload, event_id="evt-b")
    assert second.status_code == 200
    assert len(orders_for(runtime, "7000000000000000002")) == 1


def test_wrong_or_missing_hmac_is_401_and_writes_nothing(runtime: Runtime) -> None:
    payload = a_payload("7000000000000000003")
    wrong = send(runtime, payload, secret="not-the-merchants-secret")
    missing = send(runtime, payload, headers={"X-Shopify-Hmac-Sha256": ""})
    unknown_merchant = send(runtime, payload, merchant_id="mer_doesnotexist")
    for response in (wrong, missing, unknown_merchant):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_signature"
    assert orders_for(runtime, "7000000000000000003") == []


def test_malformed_body_with_good_hmac_is_400_and_writes_nothing(runtime: Runtime) -> None:
    body = b'{"id": 7000000000000000004, "line_items": ['
    response = send(runtime, {}, body=body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_body"
    assert orders_for(runtime, "7000000000000000004") == []


def test_invalid_order_with_good_hmac_is_422_naming_the_field(runtime: Runtime) -> None:
    payload = a_payload("7000000000000000005", line_items="lots")
    response = send(runtime, payload)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "line_items"
    assert orders_for(runtime, "7000000000000000005") == []


def test_a_late_older_update_does_not_win(runtime: Runtime) -> None:
    external_id = "7000000000000000006"
    send(runtime, a_payload(external_id, updated_at="2026-11-20T09:00:00+00:00"))
    newer = a_payload(external_id, updated_at="2026-11-20T10:00:00+00:00")
    newer["shipping_address"]["address1"] = "14 Marchmont Street"
    older = a_payload(external_id, updated_at="2026-11-20T09:30:00+00:00")
    older["shipping_address"]["address1"] = "99 Wrong Road"
    assert send(runtime, newer, topic="orders/updated").json()["outcome"] == "updated"
    assert send(runtime, older, topic="orders/updated").json()["outcome"] == "stale"
    [order] = orders_for(runtime, external_id)
    assert order["address"]["line1"] == "14 Marchmont Street"
    assert order["source_updated_at"] == "2026-11-20T10:00:00.000Z"


def test_an_update_before_the_create_still_makes_one_order(runtime: Runtime) -> None:
    external_id = "7000000000000000007"
    first = send(
        runtime,
        a_payload(external_id, updated_at="2026-11-20T10:00:00+00:00"),
        topic="orders/updated",
    )
    late_create = send(runtime, a_payload(external_id, updated_at="2026-11-20T09:00:00+00:00"))
    assert first.json()["outcome"] == "created"
    assert late_create.json()["outcome"] == "stale"
    assert len(orders_for(runtime, external_id)) == 1


def test_cancellation_cancels(runtime: Runtime) -> None:
    external_id = "7000000000000000008"
    send(runtime, a_payload(external_id))
    cancelled = shopify_sample("orders_cancelled", id=int(external_id))
    response = send(runtime, cancelled, topic="orders/cancelled")
    assert response.json()["outcome"] == "cancelled"
    [order] = orders_for(runtime, external_id)
    assert order["status"] == "cancelled"


def test_an_order_without_coordinates_waits_with_the_reason(runtime: Runtime) -> None:
    payload = a_payload("7000000000000000009")
    payload["shipping_address"].pop("latitude")
    payload["shipping_address"].pop("longitude")
    send(runtime, payload)
    [order] = orders_for(runtime, "7000000000000000009")
    assert order["status"] == "needs_attention"
    assert "coordinates" in order["attention_reason"]


def test_unhandled_topic_is_acknowledged_and_ignored(runtime: Runtime) -> None:
    response = send(runtime, {"id": 1, "title": "Mug"}, topic="products/create")
    assert response.status_code == 200
    assert response.json()["outcome"] == "ignored"


def test_tracking_shows_progress_and_no_personal_data(runtime: Runtime) -> None:
    response = send(runtime, a_payload("7000000000000000010"))
    detail = runtime.merchant(
        runtime.demo["api_key"], "GET", f"/v1/orders/{response.json()['order_id']}"
    ).json()
    public = requests.get(runtime.url(f"/v1/track/{detail['tracking_code']}"), timeout=10)
    assert public.status_code == 200
    view = public.json()
    assert view["first_name"] == "Ada"
    assert view["city"] == "London"
    assert view["status"] == "ready"
    assert view["delivery"]["type"] == "home"
    text = json.dumps(view)
    for private in (
        "Lovelace",
        "Marchmont",
        "WC1N",
        "ada.lovelace",
        "7700",
        "900123",
        "51.5246",
        detail["order_id"],
        runtime.demo["merchant_id"],
    ):
        assert private not in text
    assert requests.get(runtime.url("/v1/track/NOSUCHCODE000000"), timeout=10).status_code == 404
