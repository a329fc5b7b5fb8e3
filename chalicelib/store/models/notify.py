"""The notification log: one item per message and channel."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute

from chalicelib.store.models.base import MainItem


class NotificationLogItem(MainItem, discriminator="notification"):
    """pk ORDER#<id>, sk NOTIFY#<message sk>#<channel>: claimed (state `sending`, with a
    lease) before anything is sent, then the attempt's outcome."""

    state = UnicodeAttribute()
    order_id = UnicodeAttribute()
    message_type = UnicodeAttribute()
    channel = UnicodeAttribute()
    claimed_at = UnicodeAttribute()
    lease_until = UnicodeAttribute()
    attempts = NumberAttribute(default=0)
    updated_at = UnicodeAttribute(null=True)
    to = UnicodeAttribute(null=True)
    message_id = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    vendor_status = UnicodeAttribute(null=True)
    vendor_answer = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)
