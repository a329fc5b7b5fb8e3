"""Customer feedback and rate-limit windows."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute

from chalicelib.store.models.base import MainItem


class FeedbackItem(MainItem, discriminator="feedback"):
    """pk ORDER#<id>, sk FEEDBACK: the customer's rating, beside the order, written once."""

    rating = NumberAttribute()
    at = UnicodeAttribute()
    comment = UnicodeAttribute(null=True)


class RateWindowItem(MainItem, discriminator="rate_window"):
    """pk RATE#<scope>#<client>#<window start>, sk RATE: the requests counted in one window,
    gone by TTL once the window is over."""

    hits = NumberAttribute(null=True)
    expires_at = TTLAttribute(null=True)
