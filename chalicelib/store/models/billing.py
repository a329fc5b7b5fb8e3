"""Merchants' billing (their Stripe customer and price per parcel), delivered parcels counted
per month for usage billing, and what of them Stripe has been told."""

from __future__ import annotations

from pynamodb.attributes import (
    NumberAttribute,
    NumberSetAttribute,
    TTLAttribute,
    UnicodeAttribute,
)

from chalicelib.store.models.base import MainItem


class BillingItem(MainItem, discriminator="billing"):
    """pk MERCHANT#<id>, sk BILLING: set by the operator."""

    stripe_customer_id = UnicodeAttribute()
    price_amount = NumberAttribute()  # minor units per delivered parcel
    price_currency = UnicodeAttribute()
    updated_at = UnicodeAttribute()


class OrderUsageItem(MainItem, discriminator="order_usage"):
    """pk USAGE#<merchant>#<YYYY-MM>, sk ORDER#<order id>: one delivered order's parcels, as
    billed when it was delivered, and the parcels (by index) reported to Stripe so far."""

    order_id = UnicodeAttribute()
    parcels = NumberAttribute()
    delivered_at = UnicodeAttribute()
    amount = NumberAttribute()  # minor units, all its parcels
    currency = UnicodeAttribute(null=True)
    stripe_customer_id = UnicodeAttribute(null=True)
    reported = NumberSetAttribute(null=True)


class MonthUsageItem(MainItem, discriminator="month_usage"):
    """pk USAGE#<merchant>, sk MONTH#<YYYY-MM>: the month's counters, moved in the same
    transaction as the order's usage item, so retries never count twice."""

    delivered_parcels = NumberAttribute(default=0)
    amount = NumberAttribute(default=0)
    currency = UnicodeAttribute(null=True)
    reported_to_stripe = NumberAttribute(default=0)


class PaidActionItem(MainItem, discriminator="paid_action"):
    """pk PAIDACTION#<id>, sk PAIDACTION: a customer's action waiting for its Checkout session
    to be paid; `state` pending until Stripe's checkout.session.completed applies it, once."""

    order_id = UnicodeAttribute()
    action = UnicodeAttribute()
    params = UnicodeAttribute()  # JSON
    state = UnicodeAttribute()  # pending | done
    session_id = UnicodeAttribute(null=True)
    outcome = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    expires_at = TTLAttribute(null=True)
