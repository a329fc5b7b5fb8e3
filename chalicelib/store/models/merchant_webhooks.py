"""Merchant webhook endpoints and their deliveries."""

from __future__ import annotations

from pynamodb.attributes import ListAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute

from chalicelib.store.models.base import Gsi2Index, MainItem


class WebhookEndpointItem(MainItem, discriminator="webhook_endpoint"):
    """pk MERCHANT#<id>, sk ENDPOINT#<endpoint id>, with its failure record."""

    endpoint_id = UnicodeAttribute()
    merchant_id = UnicodeAttribute()
    url = UnicodeAttribute()
    types = ListAttribute[str](default=list)
    created_at = UnicodeAttribute()
    disabled_at = UnicodeAttribute(null=True)
    disabled_reason = UnicodeAttribute(null=True)
    failing_since = UnicodeAttribute(null=True)  # first failed attempt since the last success
    abandoned_in_a_row = NumberAttribute(default=0)


class WebhookEndpointCountItem(MainItem, discriminator="webhook_endpoint_count"):
    """pk MERCHANT#<id>, sk ENDPOINTS: how many endpoints the merchant has, so concurrent
    registrations cannot pass the limit."""

    endpoints = NumberAttribute(null=True)


class WebhookDeliveryItem(MainItem, discriminator="webhook_delivery"):
    """pk WEBHOOKOUT#<endpoint id>, sk <message sk>#<order id>: one message given to one
    endpoint. In the due index (gsi2) only while pending; its gsi2sk is the holder's token."""

    endpoint_id = UnicodeAttribute()
    merchant_id = UnicodeAttribute()
    order_id = UnicodeAttribute()
    message_sk = UnicodeAttribute()
    message_type = UnicodeAttribute()
    msg_id = UnicodeAttribute()
    body = UnicodeAttribute()
    state = UnicodeAttribute()
    attempts = NumberAttribute(default=0)
    first_attempt_at = UnicodeAttribute(null=True)
    last_attempt_at = UnicodeAttribute(null=True)
    last_status = NumberAttribute(null=True)
    last_answer = UnicodeAttribute(null=True)
    next_attempt_at = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    expires_at = TTLAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)

    # Pending deliveries by due time (then the holder's random tail) in `WEBHOOK#due...`.
    by_due = Gsi2Index["WebhookDeliveryItem"]()


class WebhookQueueItem(MainItem, discriminator="webhook_queue"):
    """pk WEBHOOKQ#<endpoint id>, sk QUEUE: the endpoint has (or had until lately) pending
    deliveries. In the index (gsi2) under one of a few `<queue>#active#<shard>` partitions, so
    the retry job finds the endpoints with work without reading anyone's deliveries."""

    endpoint_id = UnicodeAttribute()
    merchant_id = UnicodeAttribute()
    touched_at = UnicodeAttribute()  # the latest write that left one of its deliveries pending
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)

    by_queue = Gsi2Index["WebhookQueueItem"]()
