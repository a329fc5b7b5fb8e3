"""WooCommerce, Standard Webhooks and Stripe: signatures and translation of real samples."""

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain.errors import SignatureInvalid, ValidationFailed
from chalicelib.intake import standard, stripe_checkout, woocommerce
from chalicelib.orders.service import Action, Ignored, Inbound
from tests.builders import sample, standard_headers, stripe_headers, woocommerce_headers

WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


# --- WooCommerce -----------------------------------------------------------------------------


def test_woocommerce_signature_verifies_and_a_wrong_one_does_not() -> None:
    body = json.dumps(sample("woocommerce", "order_created")).encode()
    headers = woocommerce_headers("wc-secret", body)
    woocommerce.verify(body, headers["X-WC-Webhook-Signature"], ["wc-secret"])
    with pytest.raises(SignatureInvalid):
        woocommerce.verify(body, headers["X-WC-Webhook-Signature"], ["other"])


def test_woocommerce_ping_is_recognised_only_as_a_form() -> None:
    assert woocommerce.is_ping(b"webhook_id=17", "application/x-www-form-urlencoded")
    assert not woocommerce.is_ping(b"webhook_id=17", "application/json")
    assert not woocommerce.is_ping(b"webhook_id=17&x=1", "application/x-www-form-urlencoded")


def test_woocommerce_order_maps_with_meta_coordinates() -> None:
    inbound = woocommerce.translate("order.created", sample("woocommerce", "order_created"))
    assert isinstance(inbound, Inbound)
    assert inbound.external_id == "4821"
    assert inbound.event_id == "4821@2026-11-20T10:41:09"
    assert inbound.source_updated_at == "2026-11-20T10:41:09.000Z"
    d = inbound.draft
    assert d is not None
    assert d.customer.name == "Mary Somerville"
    assert d.customer.email == "mary.somerville@example.org"
    assert d.customer.phone == "07911 123789"
    assert (d.address.line1, d.address.line2, d.address.city) == (
        "48 Jeffrey Street",
        "Top floor",
        "Edinburgh",
    )
    assert (d.address.lat, d.address.lng) == (55.9507, -3.1858)


@pytest.mark.parametrize("status", ["cancelled", "refunded", "failed", "trash"])
def test_woocommerce_cancelled_statuses_cancel(status: str) -> None:
    inbound = woocommerce.translate(
        "order.updated", sample("woocommerce", "order_created", status=status)
    )
    assert isinstance(inbound, Inbound)
    assert inbound.action is Action.CANCEL


def test_woocommerce_unpaid_and_pickup_orders_are_ignored() -> None:
    pending = woocommerce.translate(
        "order.created", sample("woocommerce", "order_created", status="pending")
    )
    pickup = woocommerce.translate(
        "order.created",
        sample("woocommerce", "order_created", shipping_lines=[{"method_id": "local_pickup"}]),
    )
    assert isinstance(pending, Ignored)
    assert "payment" in pending.reason
    assert isinstance(pickup, Ignored)


def test_woocommerce_delete_cancels_by_id() -> None:
    inbound = woocommerce.translate("order.deleted", {"id": 4821})
    assert isinstance(inbound, Inbound)
    assert (inbound.action, inbound.external_id) == (Action.CANCEL, "4821")


# --- Standard Webhooks -----------------------------------------------------------------------


def test_standard_webhook_verifies_with_any_current_secret() -> None:
    body = json.dumps(sample("standard", "order_created")).encode()
    headers = standard_headers(WHSEC, body, msg_id="msg_1")
    assert standard.verify(body, headers, ["whsec_b2xkIHNlY3JldA==", WHSEC]) == "msg_1"


def test_standard_webhook_accepts_a_rotated_sender_key_among_several_signatures() -> None:
    body = json.dumps(sample("standard", "order_created")).encode()
    headers = standard_headers(WHSEC, body, msg_id="msg_2")
    headers["webhook-signature"] = "v1,bm90IGl0 " + headers["webhook-signature"]
    assert standard.verify(body, headers, [WHSEC]) == "msg_2"


@pytest.mark.parametrize("age", [timedelta(minutes=6), timedelta(minutes=-6)])
def test_standard_webhook_outside_five_minutes_is_refused(age: timedelta) -> None:
    body = json.dumps(sample("standard", "order_created")).encode()
    headers = standard_headers(WHSEC, body, msg_id="msg_3", at=datetime.now(UTC) - age)
    with pytest.raises(SignatureInvalid):
        standard.verify(body, headers, [WHSEC])


def test_standard_webhook_with_garbled_signature_header_is_refused() -> None:
    body = b"{}"
    headers = standard_headers(WHSEC, body, msg_id="msg_4")
    headers["webhook-signature"] = "garbage-without-comma"
    with pytest.raises(SignatureInvalid):
        standard.verify(body, headers, [WHSEC])


def test_standard_payload_maps_to_the_canonical_order() -> None:
    inbound = standard.translate("msg_5", sample("standard", "order_created"))
    assert isinstance(inbound, Inbound)
    assert inbound.external_id == "SO-2026-000871"
    assert inbound.event_id == "msg_5"
    assert inbound.source_updated_at == "2026-11-20T12:05:30.000Z"
    assert inbound.draft is not None
    assert len(inbound.draft.parcels) == 2


def test_standard_payload_errors_name_the_field_under_data() -> None:
    payload = sample("standard", "order_created")
    payload["data"]["parcels"][1]["weight_kg"] = -3
    with pytest.raises(ValidationFailed) as caught:
        standard.translate("msg_6", payload)
    assert caught.value.field == "data.parcels.1.weight_kg"


# --- Stripe ----------------------------------------------------------------------------------


def test_stripe_signature_is_checked_with_a_300_second_tolerance() -> None:
    body = json.dumps(sample("stripe", "checkout_session_completed")).encode()
    stripe_checkout.verify(body, stripe_headers("whsec_s", body)["Stripe-Signature"], "whsec_s")
    stale = stripe_headers("whsec_s", body, at=int(time.time()) - 301)["Stripe-Signature"]
    with pytest.raises(SignatureInvalid):
        stripe_checkout.verify(body, stale, "whsec_s")
    with pytest.raises(SignatureInvalid):
        stripe_checkout.verify(body, None, "whsec_s")


def test_stripe_checkout_session_maps_from_collected_shipping_details() -> None:
    event = stripe_checkout.parse_event(sample("stripe", "checkout_session_completed"))
    inbound = stripe_checkout.translate(event)
    assert isinstance(inbound, Inbound)
    assert event.account == "acct_1SVq1AQ9RKHgCVdK"
    assert inbound.event_id == "evt_1SVq7bQ9RKHgCVdKx2Lq0aBc"
    assert inbound.external_id.startswith("cs_live_")
    d = inbound.draft
    assert d is not None
    assert (d.customer.name, d.customer.email) == ("Rosalind Franklin", "rosalind@example.com")
    assert (d.address.line1, d.address.postcode, d.address.country) == (
        "10 Park Street",
        "BS1 5HX",
        "GB",
    )
    assert d.address.lat is None  # Stripe has no coordinates: the geocoder's job
    assert d.parcels[0].weight_kg == 2.4


def test_stripe_older_api_versions_put_shipping_details_on_the_session() -> None:
    payload = sample("stripe", "checkout_session_completed")
    session = payload["data"]["object"]
    session["shipping_details"] = session.pop("collected_information")["shipping_details"]
    inbound = stripe_checkout.translate(stripe_checkout.parse_event(payload))
    assert isinstance(inbound, Inbound)
    assert inbound.draft is not None
    assert inbound.draft.address.city == "Bristol"


def test_stripe_unpaid_and_other_events_are_acknowledged_and_ignored() -> None:
    payload = sample("stripe", "checkout_session_completed")
    payload["data"]["object"]["payment_status"] = "unpaid"
    assert isinstance(stripe_checkout.translate(stripe_checkout.parse_event(payload)), Ignored)
    other = sample("stripe", "checkout_session_completed", type="charge.refunded")
    assert isinstance(stripe_checkout.translate(stripe_checkout.parse_event(other)), Ignored)


# --- the topic routes, the signed body decides -------------------------------------------------


@pytest.mark.parametrize("topic", sorted(woocommerce.ORDER_TOPICS))
def test_woocommerce_open_order_is_never_cancelled_whatever_the_topic(topic: str) -> None:
    inbound = woocommerce.translate(topic, sample("woocommerce", "order_created"))
    assert isinstance(inbound, Inbound)
    assert inbound.action is Action.UPSERT


@pytest.mark.parametrize("topic", sorted(woocommerce.ORDER_TOPICS))
def test_woocommerce_deletion_body_cancels_whatever_the_topic(topic: str) -> None:
    inbound = woocommerce.translate(topic, {"id": 4821})
    assert isinstance(inbound, Inbound)
    assert (inbound.action, inbound.event_id) == (Action.CANCEL, "4821@deleted")


# --- values the store and later requests must be able to read -----------------------------------


LNG = {"key": "_shipping_lng", "value": "-3.1858"}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"date_modified_gmt": "garbage"}, "date_modified_gmt"),
        ({"date_modified_gmt": "9999-12-31T23:59:59"}, "date_modified_gmt"),
        ({"id": "\u00e9" * 128}, "id"),  # 128 characters, but 256 bytes
        ({"meta_data": [{"key": "_shipping_lat", "value": 10**400}, LNG]}, "address.lat"),
        ({"meta_data": [{"key": "_shipping_lat", "value": "nan"}, LNG]}, "address.lat"),
        (
            {"meta_data": [{"key": "_lastmile_weight_kg", "value": "1e-200"}]},
            "parcels.0.weight_kg",
        ),
    ],
)
def test_woocommerce_values_that_would_break_a_later_request_are_refused(
    overrides: dict, field: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        woocommerce.translate("order.created", sample("woocommerce", "order_created", **overrides))
    assert caught.value.field == field


def test_standard_webhook_id_is_bounded_in_bytes() -> None:
    body = json.dumps(sample("standard", "order_created")).encode()
    headers = standard_headers(WHSEC, body, msg_id="msg_" + "\u4e00" * 200)  # 604 bytes
    with pytest.raises(ValidationFailed) as caught:
        standard.verify(body, headers, [WHSEC])
    assert caught.value.field == "webhook-id"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"external_id": "SO-1", "updated_at": "garbage"}, "data.updated_at"),
        ({"external_id": "\U0001f4e6" * 64}, "data.external_id"),
        ({"external_id": ""}, "data.external_id"),
    ],
)
def test_standard_cancellation_values_are_validated(data: dict, field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        standard.translate("msg_7", {"type": "order.cancelled", "data": data})
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda p: p.update(id="evt_" + "\U0001f4e6" * 130), "id"),
        (lambda p: p.update(account="acct_" + "x" * 600), "account"),
        (lambda p: p["data"]["object"].update(id="cs_" + "\u00e9" * 127), "data.object.id"),
        (
            lambda p: p["data"]["object"]["metadata"].update(lastmile_weight_kg="1e999"),
            "parcels.0.weight_kg",
        ),
    ],
)
def test_stripe_values_that_would_break_a_later_request_are_refused(change, field: str) -> None:
    payload = sample("stripe", "checkout_session_completed")
    change(payload)
    with pytest.raises(ValidationFailed) as caught:
        stripe_checkout.translate(stripe_checkout.parse_event(payload))
    assert caught.value.field == field
