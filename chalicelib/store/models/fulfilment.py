"""Fulfilment report-back claims."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from chalicelib.store.models.base import MainItem


class FulfilmentClaimItem(MainItem, discriminator="fulfilment"):
    """pk ORDER#<id>, sk FULFILMENT#<platform>: claimed (with a lease) before the platform is
    called, then settled reported or failed with what the platform answered."""

    order_id = UnicodeAttribute()
    merchant_id = UnicodeAttribute()
    platform = UnicodeAttribute()
    state = UnicodeAttribute()
    claimed_at = UnicodeAttribute()
    lease_until = NumberAttribute()  # epoch seconds
    settled_at = UnicodeAttribute(null=True)
    fulfilment_id = UnicodeAttribute(null=True)
    tracking_number = UnicodeAttribute(null=True)
    tracking_url = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    http_status = NumberAttribute(null=True)
    answer = UnicodeAttribute(null=True)
