import pytest

from chalicelib.domain.errors import SignatureInvalid, ValidationFailed
from chalicelib.intake import shopify
from chalicelib.orders.service import Action, Ignored, Inbound
from tests.builders import shopify_body, shopify_hmac, shopify_sample

SECRET = "shpss_current_secret"


def test_signature_of_the_raw_body_verifies() -> None:
    body = shopify_body(shopify_sample())
    shopify.verify(body, shopify_hmac(SECRET, body), [SECRET])


def test_previous_secret_verifies_during_rotation() -> None:
    body = shopify_body(shopify_sample())
    shopify.verify(body, shopify_hmac("old-secret", body), [SECRET, "old-secret"])


@pytest.mark.parametrize("signature", [None, "", "bm90IGEgc2lnbmF0dXJl"])
def test_missing_or_wrong_signature_is_refused(signature: str | None) -> None:
    body = shopify_body(shopify_sample())
    with pytest.raises(SignatureInvalid):
        shopify.verify(body, signature, [SECRET])


def test_a_changed_body_no_longer_verifies() -> None:
    body = shopify_body(shopify_sample())
    signature = shopify_hmac(SECRET, body)
    with pytest.raises(SignatureInvalid):
        shopify.verify(body.replace(b"Lovelace", b"Lovelacf"), signature, [SECRET])


def test_no_secret_means_nothing_verifies() -> None:
    body = shopify_body(shopify_sample())
    with pytest.raises(SignatureInvalid):
        shopify.verify(body, shopify_hmac(SECRET, body), [])


def translate(payload: dict, topic: str = "orders/create") -> Inbound:
    result = shopify.translate(topic, "evt-1", payload)
    assert isinstance(result, Inbound)
    return result


def test_real_sample_maps_to_one_canonical_order() -> None:
    inbound = translate(shopify_sample())
    assert inbound.action is Action.UPSERT
    assert inbound.external_id == "5987654321098765432"  # beyond 2**53, kept exact
    assert inbound.source_updated_at == "2026-11-20T09:14:28.000Z"
    d = inbound.draft
    assert d is not None
    assert d.customer.name == "Ada Lovelace"
    assert d.customer.email == "ada.lovelace@example.co.uk"
    assert d.customer.phone == "+44 7911 123456"
    assert (d.address.line1, d.address.line2, d.address.postcode) == (
        "12 Marchmont Street",
        "Flat 3",
        "WC1N 1AF",
    )
    assert (d.address.lat, d.address.lng) == (51.5246, -0.1245)
    # 2 mugs of 450 g and a 950 g towel set; the gift card needs no shipping.
    assert [p.weight_kg for p in d.parcels] == [1.85]
    assert d.delivery.type == "home"


def test_big_ids_survive_as_strings() -> None:
    raw = b'{"id": 820982911946154508123, "cancelled_at": "2026-11-20T11:02:10Z", "line_items": []}'
    import json

    inbound = shopify.translate("orders/cancelled", None, json.loads(raw))
    assert isinstance(inbound, Inbound)
    assert inbound.external_id == "820982911946154508123"


def test_locker_choice_and_window_come_from_note_attributes() -> None:
    attrs = [
        {"name": "lastmile_delivery_type", "value": "locker"},
        {"name": "lastmile_locker_id", "value": "lck_kings_cross"},
        {"name": "lastmile_window_start", "value": "2026-11-22T10:00:00+00:00"},
        {"name": "lastmile_window_end", "value": "2026-11-22T12:00:00+00:00"},
    ]
    d = translate(shopify_sample(note_attributes=attrs)).draft
    assert d is not None
    assert d.delivery.type == "locker"
    assert d.delivery.locker_id == "lck_kings_cross"
    assert d.delivery.window is not None
    assert d.delivery.window.start.startswith("2026-11-22T10:00")


def test_cancellation_needs_no_address() -> None:
    inbound = translate(shopify_sample("orders_cancelled"), topic="orders/cancelled")
    assert inbound.action is Action.CANCEL
    assert inbound.draft is None


@pytest.mark.parametrize(
    ("topic", "overrides", "reason"),
    [
        ("products/create", {}, "not handled"),
        ("orders/create", {"shipping_address": None}, "no shipping address"),
        (
            "orders/create",
            {"line_items": [{"quantity": 1, "grams": 0, "requires_shipping": False}]},
            "nothing to ship",
        ),
    ],
)
def test_events_that_ask_nothing_of_us_are_ignored(
    topic: str, overrides: dict, reason: str
) -> None:
    result = shopify.translate(topic, "evt-1", shopify_sample(**overrides))
    assert isinstance(result, Ignored)
    assert reason in result.reason


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"line_items": "three mugs"}, "line_items"),
        ({"id": None}, "id"),
        ({"line_items": [{"quantity": -2, "requires_shipping": True}]}, "line_items.0.quantity"),
    ],
)
def test_malformed_orders_are_refused_naming_the_field(overrides: dict, field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        shopify.translate("orders/create", "evt-1", shopify_sample(**overrides))
    assert caught.value.field == field


def test_address_without_a_city_is_refused() -> None:
    sample = shopify_sample()
    sample["shipping_address"]["city"] = None
    with pytest.raises(ValidationFailed) as caught:
        shopify.translate("orders/create", "evt-1", sample)
    assert caught.value.field == "address.city"


# --- the topic routes, the signed body decides -------------------------------------------------


@pytest.mark.parametrize("topic", sorted(shopify.ORDER_TOPICS))
def test_an_open_order_is_never_cancelled_whatever_the_topic_says(topic: str) -> None:
    inbound = translate(shopify_sample(), topic=topic)
    assert inbound.action is Action.UPSERT
    assert inbound.draft is not None


@pytest.mark.parametrize("topic", sorted(shopify.ORDER_TOPICS))
def test_a_cancelled_order_is_cancelled_whatever_the_topic_says(topic: str) -> None:
    inbound = translate(shopify_sample("orders_cancelled"), topic=topic)
    assert inbound.action is Action.CANCEL


def test_another_resources_body_under_an_order_topic_is_ignored() -> None:
    fulfilment = shopify_sample(admin_graphql_api_id="gid://shopify/Fulfillment/4451")
    result = shopify.translate("orders/cancelled", "evt-1", fulfilment)
    assert isinstance(result, Ignored)
    assert "not an order" in result.reason


# --- values the store and later requests must be able to read -----------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"updated_at": "garbage"}, "updated_at"),
        ({"updated_at": "2026-11-20T09:14:28"}, "updated_at"),  # naive: which zone?
        ({"updated_at": "9999-12-31T23:59:59+00:00"}, "updated_at"),
        ({"cancelled_at": "yesterday"}, "cancelled_at"),
        ({"id": "\U0001f4e6" * 70}, "id"),  # 70 characters, 280 bytes
        ({"line_items": [{"quantity": 10**30, "grams": 10**30}]}, "line_items.0.quantity"),
    ],
)
def test_values_that_would_break_a_later_request_are_refused(overrides: dict, field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        shopify.translate("orders/create", "evt-1", shopify_sample(**overrides))
    assert caught.value.field == field


def test_the_updated_time_is_stored_in_the_house_format() -> None:
    inbound = translate(shopify_sample(updated_at="2026-11-20T04:14:28.123456-05:00"))
    assert inbound.source_updated_at == "2026-11-20T09:14:28.123Z"


def test_a_coordinate_too_small_for_the_store_is_kept_as_zero() -> None:
    sample = shopify_sample()
    sample["shipping_address"] |= {"latitude": 1e-200, "longitude": -1e-200}
    d = translate(sample).draft
    assert d is not None
    assert (d.address.lat, d.address.lng) == (0.0, 0.0)
    assert str(d.address.lng) == "0.0"  # not -0.0
