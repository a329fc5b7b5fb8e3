"""Delivery options quoted to customers, the slot seats they hold or book, and merchants'
price lists."""

from __future__ import annotations

from pynamodb.attributes import (
    ListAttribute,
    NumberAttribute,
    NumberSetAttribute,
    TTLAttribute,
    UnicodeAttribute,
)

from chalicelib.store.models.base import MainItem


class SeatItem(MainItem, discriminator="seat"):
    """pk SLOT#<depot>#<slot start>, sk SEAT#<n> while held, BOOKED#<n> once an order booked
    it: one parcel's room in a slot. Seat n is free when neither is there, or its hold's
    `hold_until` (epoch seconds, compared in every hold's condition) has passed: an expired
    hold is free at once, whenever TTL gets to deleting it."""

    state = UnicodeAttribute()  # held | booked
    option_id = UnicodeAttribute()
    hold_until = NumberAttribute()
    order_id = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)  # held seats only: tidying, never relied upon


class SlotSummaryItem(MainItem, discriminator="slot_summary"):
    """pk SLOT#<depot>#<slot start>, sk SUMMARY: the seats booked (by index), moved in the
    booking's transaction, so a quote reads one item for them instead of every booked seat."""

    booked = NumberSetAttribute(null=True)


class OptionItem(MainItem, discriminator="delivery_option"):
    """pk OPTION#<id>, sk OPTION: one option as quoted, with the seats it holds."""

    merchant_id = UnicodeAttribute()
    depot_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    window_start = UnicodeAttribute()
    window_end = UnicodeAttribute()
    price_amount = NumberAttribute()
    price_currency = UnicodeAttribute()
    hold_until = NumberAttribute()
    slot_pk = UnicodeAttribute()
    seats = ListAttribute[str](default=list)
    locker_id = UnicodeAttribute(null=True)  # a locker option's locker
    order_id = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)


class PriceListItem(MainItem, discriminator="price_list"):
    """pk MERCHANT#<id>, sk PRICELIST: the price list as JSON (api/payments.py validates it)."""

    body = UnicodeAttribute()
    updated_at = UnicodeAttribute()
