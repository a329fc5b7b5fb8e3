"""The body a merchant's endpoint receives, and its Standard Webhooks signature."""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from chalicelib.domain.order import Address, Customer, Delivery, Order, OrderStatus, Parcel
from chalicelib.merchant_webhooks.endpoints import new_secret
from chalicelib.merchant_webhooks.events import EVENT_TYPES, event_body, message_id, signed_headers


def an_order() -> Order:
    values = {
        "order_id": "ord_1",
        "merchant_id": "mer_1",
        "depot_id": "dep_1",
        "source": "api",
        "external_id": "ext-1",
        "tracking_code": "TRACK123",
        "status": OrderStatus("out_for_delivery"),
        "customer": Customer("Grace Hopper", "grace@example.com", "+447700900456"),
        "address": Address(
            line1="221B Baker Street", city="London", postcode="NW1 6XE", country="GB"
        ),
        "parcels": (Parcel(weight_kg=2.5),),
        "delivery": Delivery(),
        "created_at": "2030-01-01T08:00:00.000Z",
        "updated_at": "2030-01-01T09:00:00.000Z",
    }
    assert {f.name for f in fields(Order)} >= set(values)
    return Order(**values)


MESSAGE = {
    "pk": "ORDER#ord_1",
    "sk": "2030-01-01T09:00:00.000Z#order.delayed#ab12cd34",
    "type": "order.delayed",
    "order_id": "ord_1",
    "merchant_id": "mer_1",
    "status": "out_for_delivery",
    "at": "2030-01-01T09:00:00.000Z",
    "eta": "2030-01-01T11:30:00Z",
    "reason": "traffic",
}


def test_the_body_carries_the_order_facts_and_no_customer_pii() -> None:
    body = event_body(MESSAGE, an_order(), "https://lastmile.example/track/TRACK123")

    assert json.loads(body) == {
        "type": "order.delayed",
        "timestamp": "2030-01-01T09:00:00.000Z",
        "data": {
            "order_id": "ord_1",
            "external_id": "ext-1",
            "status": "out_for_delivery",
            "tracking_code": "TRACK123",
            "tracking_url": "https://lastmile.example/track/TRACK123",
            "eta": "2030-01-01T11:30:00Z",
            "reason": "traffic",
        },
    }
    for pii in ("Grace", "Hopper", "grace@example.com", "+447700900456", "Baker", "NW1"):
        assert pii not in body


def test_optional_fields_are_left_out_when_absent() -> None:
    message = {k: v for k, v in MESSAGE.items() if k not in ("eta", "reason")}
    data = json.loads(event_body(message, an_order(), "https://x/track/T"))["data"]
    assert "eta" not in data and "reason" not in data


def test_the_signature_verifies_with_the_standard_webhooks_library() -> None:
    secret = new_secret()
    body = event_body(MESSAGE, an_order(), "https://lastmile.example/track/TRACK123")
    msg_id = message_id("ord_1", MESSAGE["sk"])

    headers = signed_headers(secret, msg_id, datetime.now(UTC), body)

    assert Webhook(secret).verify(body, headers)["type"] == "order.delayed"
    assert headers["webhook-id"] == msg_id
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace("traffic", "weather"), headers)
    stale = signed_headers(secret, msg_id, datetime.now(UTC) - timedelta(minutes=10), body)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, stale)


def test_the_message_id_is_stable_per_outbox_message() -> None:
    assert message_id("ord_1", "a") == message_id("ord_1", "a")
    assert message_id("ord_1", "a") != message_id("ord_1", "b")
    assert message_id("ord_1", "a").startswith("msg_")


LOCKER = {
    "locker_id": "lkr_1",
    "name": "Tooley Street",
    "lat": 51.5055,
    "lng": -0.086,
    "opening_hours": "daily 24 hours",
    "address": "1 Tooley St, London SE1 2QN",
}
SEALED = "v1.c2VhbGVkLXBpY2t1cC1jb2RlLW5vdC1hLXJlYWwtb25l"


def locker_message(message_type: str, **extra: object) -> dict[str, object]:
    return MESSAGE | {
        "sk": f"2030-01-01T09:00:00.000Z#{message_type}#ab12cd34",
        "type": message_type,
        "status": "in_locker",
        **extra,
    }


def test_a_locker_event_shows_the_locker_and_deadline_but_never_a_pickup_code() -> None:
    message = locker_message(
        "order.in_locker",
        locker=LOCKER | {"pickup_code": "40719263", "code_hash": "ab" * 32},  # smuggled in
        pickup_by="2030-01-04T09:00:00Z",
        pickup_code_sealed=SEALED,
        pickup_code="40719263",
        rotated="resend",
    )

    body = event_body(message, an_order(), "https://x/track/T")

    data = json.loads(body)["data"]
    assert data["locker"] == LOCKER
    assert (data["pickup_by"], data["rotated"]) == ("2030-01-04T09:00:00Z", "resend")
    for secret in ("pickup_code", "code_hash", SEALED, "40719263", "v1."):
        assert secret not in body


@pytest.mark.parametrize("message_type", sorted(EVENT_TYPES))
def test_no_event_type_ever_carries_a_sealed_code(message_type: str) -> None:
    message = locker_message(
        message_type, locker=LOCKER, pickup_code_sealed=SEALED, pickup_code="40719263"
    )

    body = event_body(message, an_order(), "https://x/track/T")

    assert "pickup_code" not in body and SEALED not in body and "40719263" not in body


def test_a_full_locker_event_carries_the_alternative_with_its_distance() -> None:
    alternative = LOCKER | {"locker_id": "lkr_2", "name": "London Bridge", "distance_m": 347.6}
    message = locker_message("order.locker_full", locker=LOCKER, alternative=alternative)

    data = json.loads(event_body(message, an_order(), "https://x/track/T"))["data"]

    assert data["alternative"] == alternative | {"distance_m": 348}
    assert data["locker"]["name"] == "Tooley Street"
