"""Orders, their timeline events, the lookups that find them, intake receipts, and the outbox
messages announcing what happened to them."""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)

from chalicelib.store.models.base import Gsi1Index, Gsi2Index, Gsi3Index, MainItem, OutboxItem


class CustomerAttribute(MapAttribute[str, object]):
    name = UnicodeAttribute()
    email = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)


class AddressAttribute(MapAttribute[str, object]):
    line1 = UnicodeAttribute()
    line2 = UnicodeAttribute(null=True)
    city = UnicodeAttribute()
    postcode = UnicodeAttribute()
    country = UnicodeAttribute()
    lat = NumberAttribute(null=True)
    lng = NumberAttribute(null=True)


class ParcelAttribute(MapAttribute[str, object]):
    weight_kg = NumberAttribute()
    size = UnicodeAttribute(null=True)
    label = UnicodeAttribute(null=True)  # absent on orders stored before parcels had labels


class LineAttribute(MapAttribute[str, object]):
    sku = UnicodeAttribute()
    quantity = NumberAttribute()


class WindowAttribute(MapAttribute[str, object]):
    start = UnicodeAttribute()
    end = UnicodeAttribute()


class PriceAttribute(MapAttribute[str, object]):
    amount = NumberAttribute()  # minor units
    currency = UnicodeAttribute()


class DeliveryAttribute(MapAttribute[str, object]):
    type = UnicodeAttribute()
    locker_id = UnicodeAttribute(null=True)
    window = WindowAttribute(null=True)
    option_id = UnicodeAttribute(null=True)
    price = PriceAttribute(null=True)


class CarrierAttribute(MapAttribute[str, object]):
    name = UnicodeAttribute()
    job_id = UnicodeAttribute()
    status = UnicodeAttribute()
    fee_amount = NumberAttribute()
    fee_currency = UnicodeAttribute()
    quote_id = UnicodeAttribute()
    courier_lat = NumberAttribute(null=True)
    courier_lng = NumberAttribute(null=True)
    courier_at = UnicodeAttribute(null=True)


class OrderItem(MainItem, discriminator="order"):
    """pk ORDER#<id>, sk ORDER. A dispatch run's claim lives on the order itself, so any
    amendment (a whole new item) drops it."""

    order_id = UnicodeAttribute()
    merchant_id = UnicodeAttribute()
    depot_id = UnicodeAttribute()
    source = UnicodeAttribute()
    external_id = UnicodeAttribute()
    tracking_code = UnicodeAttribute()
    status = UnicodeAttribute()
    customer = CustomerAttribute()
    address = AddressAttribute()
    parcels = ListAttribute(of=ParcelAttribute)
    delivery = DeliveryAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    source_updated_at = UnicodeAttribute(null=True)
    attention_reason = UnicodeAttribute(null=True)
    eta = UnicodeAttribute(null=True)
    eta_from = UnicodeAttribute(null=True)  # the window told with the ETA
    eta_to = UnicodeAttribute(null=True)
    route_id = UnicodeAttribute(null=True)
    run_id = UnicodeAttribute(null=True)
    unassigned_reason = UnicodeAttribute(null=True)
    failed_attempts = NumberAttribute(default=0)
    first_attempt = BooleanAttribute(null=True)
    version = NumberAttribute(default=1)
    lines = ListAttribute(of=LineAttribute, null=True)
    reserved = ListAttribute(of=LineAttribute, null=True)
    promised_day = UnicodeAttribute(null=True)
    capacity_load = NumberAttribute(null=True)
    shipment_of = UnicodeAttribute(null=True)
    shipments = ListAttribute[str](null=True)
    carrier = CarrierAttribute(null=True)  # a partner carrier's job (chalicelib/carriers)
    claimed_by = UnicodeAttribute(null=True)
    claimed_until = NumberAttribute(null=True)  # epoch seconds
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    gsi2pk = UnicodeAttribute()
    gsi2sk = UnicodeAttribute()
    # Null only on orders written before the index existed (they are not listed by time).
    gsi3pk = UnicodeAttribute(null=True)
    gsi3sk = UnicodeAttribute(null=True)

    # A merchant's orders by external id (then creation time).
    by_external = Gsi1Index["OrderItem"]()
    # A depot's orders in one status, oldest first (dispatch collects the ready ones).
    by_depot_status = Gsi2Index["OrderItem"]()
    # A merchant's orders by creation time (GET /v1/orders pages through it, newest first).
    by_created = Gsi3Index["OrderItem"]()


class TimelineItem(MainItem, discriminator="timeline"):
    """pk ORDER#<id>, sk EVENT#<at>#<n>#<random>: one step of the order's public timeline."""

    at = UnicodeAttribute()
    status = UnicodeAttribute()
    type = UnicodeAttribute()
    note = UnicodeAttribute(null=True)


class ProofItem(MainItem, discriminator="proof"):
    """pk ORDER#<id>, sk PROOF: the proof of delivery, written with the delivered order."""

    order_id = UnicodeAttribute()
    route_id = UnicodeAttribute()
    at = UnicodeAttribute()
    labels_scanned = ListAttribute[str](null=True)
    labels_missing = ListAttribute[str](null=True)
    recipient_name = UnicodeAttribute(null=True)
    safe_place = UnicodeAttribute(null=True)
    photo_key = UnicodeAttribute(null=True)
    signature_key = UnicodeAttribute(null=True)
    lat = NumberAttribute(null=True)
    lng = NumberAttribute(null=True)


class OrderLookupItem(MainItem, discriminator="lookup"):
    """An order found by another key: EXTREF#<merchant>#<source>#<external id>,
    TRACK#<tracking code> or LABEL#<parcel label> (sk the same word)."""

    order_id = UnicodeAttribute()


class ReceiptItem(MainItem, discriminator="receipt"):
    """An event id seen once (a storefront's event, a driver's event): a retry is a
    duplicate. Kept longer than any sender retries."""

    order_id = UnicodeAttribute(null=True)
    route_id = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)


class OutboxMessageItem(OutboxItem, discriminator="message"):
    """pk ORDER#<id>, sk <at>#<type>#<random>: a message for notify/ and the merchant's
    webhooks about an order; `fields` carries what the message type adds to the order's."""

    type = UnicodeAttribute()
    order_id = UnicodeAttribute()
    merchant_id = UnicodeAttribute()
    status = UnicodeAttribute()
    at = UnicodeAttribute()
    fields = MapAttribute[str, object](default=dict)
    expires_at = TTLAttribute(null=True)
