"""Shopify order webhooks: HMAC verification on the raw body and translation to one Inbound.
The topic header is not signed: it only says that the body is an order; what to do with the
order (keep it or cancel it) is read from the signed body."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chalicelib.intake.canonical import (
    ExternalId,
    StoreTime,
    parse_order,
    stored_time,
    validation_failed,
)
from chalicelib.intake.signatures import verify_base64_hmac
from chalicelib.orders.service import Action, Ignored, Inbound

SOURCE = "shopify"
# The topics whose body is an order. Which of them a delivery came under decides nothing: a
# signed orders/create body re-sent as orders/cancelled is still an open order.
ORDER_TOPICS = frozenset({"orders/create", "orders/updated", "orders/cancelled"})
ORDER_GID = "gid://shopify/Order/"

# Note attributes a checkout (or an app on it) sets to choose how and when to deliver.
ATTR_DELIVERY = "lastmile_delivery_type"
ATTR_LOCKER = "lastmile_locker_id"
ATTR_WINDOW_START = "lastmile_window_start"
ATTR_WINDOW_END = "lastmile_window_end"
ATTR_OPTION = "lastmile_option_id"  # a delivery option (POST /v1/delivery-options) to redeem


def verify(raw_body: bytes, signature: str | None, secrets: Iterable[str]) -> None:
    verify_base64_hmac(raw_body, signature, secrets, header="X-Shopify-Hmac-Sha256")


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class ShopifyAddress(_Model):
    first_name: str | None = None
    last_name: str | None = None
    name: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    zip: str | None = None
    country_code: str | None = None
    phone: str | None = None
    latitude: float | None = None
    longitude: float | None = None


class ShopifyCustomer(_Model):
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None


class ShopifyLineItem(_Model):
    # Bounded so that an order's total weight is a float (canonical bounds it further).
    quantity: int = Field(ge=0, le=1_000_000)
    grams: int = Field(default=0, ge=0, le=10_000_000)
    requires_shipping: bool = True
    sku: str | None = None


class ShopifyNoteAttribute(_Model):
    name: str
    value: str | None = None


class ShopifyOrder(_Model):
    id: ExternalId  # Shopify ids exceed 2**53: kept as strings end to end
    admin_graphql_api_id: str | None = None
    updated_at: StoreTime | None = None
    cancelled_at: StoreTime | None = None
    email: str | None = None
    contact_email: str | None = None
    phone: str | None = None
    customer: ShopifyCustomer | None = None
    shipping_address: ShopifyAddress | None = None
    line_items: list[ShopifyLineItem] = Field(default_factory=list, max_length=500)
    note_attributes: list[ShopifyNoteAttribute] = Field(default_factory=list)


def translate(topic: str, event_id: str | None, payload: Any) -> Inbound | Ignored:
    """The Inbound this webhook asks for, or why lastmile has nothing to do with it. The action
    is the body's: cancelled when its `cancelled_at` is set, else the order as it now is."""
    if topic not in ORDER_TOPICS:
        return Ignored(f"topic {topic[:80]!r} is not handled")
    try:
        order = ShopifyOrder.model_validate(payload)
    except ValidationError as exc:
        raise validation_failed(exc) from exc
    gid = order.admin_graphql_api_id
    if gid is not None and not gid.startswith(ORDER_GID):
        # Another resource's signed body (a fulfilment, a refund) sent under an order topic.
        return Ignored("body is not an order")
    action = Action.CANCEL if order.cancelled_at is not None else Action.UPSERT
    draft = None
    if action is Action.UPSERT:
        # Local pickup and digital orders are valid Shopify orders that are not ours to carry;
        # answering 4xx would make Shopify retry them and finally drop the subscription.
        if order.shipping_address is None:
            return Ignored("order has no shipping address")
        if not any(item.requires_shipping and item.quantity for item in order.line_items):
            return Ignored("order has nothing to ship")
        draft = parse_order(canonical(order))
    return Inbound(
        source=SOURCE,
        action=action,
        external_id=order.id,
        draft=draft,
        event_id=event_id,
        source_updated_at=stored_time(order.updated_at),
    )


def canonical(order: ShopifyOrder) -> dict[str, Any]:
    """Shopify's order in the canonical shape (validated afterwards like every other source)."""
    ship = order.shipping_address or ShopifyAddress()
    cust = order.customer or ShopifyCustomer()
    attrs: Mapping[str, str | None] = {a.name: a.value for a in order.note_attributes}
    name = " ".join(p for p in (ship.first_name, ship.last_name) if p) or ship.name
    name = name or " ".join(p for p in (cust.first_name, cust.last_name) if p)
    shipped = [item for item in order.line_items if item.requires_shipping and item.quantity]
    grams = sum(item.grams * item.quantity for item in shipped)
    delivery: dict[str, Any] = {"type": attrs.get(ATTR_DELIVERY) or "home"}
    if attrs.get(ATTR_LOCKER):
        delivery["locker_id"] = attrs[ATTR_LOCKER]
    if attrs.get(ATTR_OPTION):
        delivery["option_id"] = attrs[ATTR_OPTION]
    if attrs.get(ATTR_WINDOW_START) or attrs.get(ATTR_WINDOW_END):
        delivery["window"] = {
            "start": attrs.get(ATTR_WINDOW_START),
            "end": attrs.get(ATTR_WINDOW_END),
        }
    return {
        "external_id": order.id,
        "customer": {
            "name": name,
            "email": order.email or order.contact_email or cust.email,
            "phone": ship.phone or order.phone or cust.phone,
        },
        "address": {
            "line1": ship.address1,
            "line2": ship.address2 or None,
            "city": ship.city,
            "postcode": ship.zip,
            "country": ship.country_code,
            "lat": ship.latitude,
            "lng": ship.longitude,
        },
        # One parcel holding every shipped item: a merchant packs an order together.
        "parcels": [{"weight_kg": max(grams, 1) / 1000}],
        "delivery": delivery,
        # What allocation reserves: the shipped items that name a SKU.
        "lines": [{"sku": i.sku, "quantity": i.quantity} for i in shipped if i.sku],
    }
