"""What a merchant's endpoint receives: the event body (order facts, no customer PII), its
Standard Webhooks message id and signature headers."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from standardwebhooks.webhooks import Webhook

from chalicelib.domain.order import ORDER_MESSAGES, Order

EVENT_TYPES = ORDER_MESSAGES  # every order message is an event a merchant may subscribe to
# What of a locker (the message's `locker`, `alternative`) an event shows: a public place.
# Named, never copied wholesale: a message also carries the sealed pickup code, and a pickup
# code is the customer's alone (whoever holds it opens the door).
_LOCKER_FIELDS: dict[str, Callable[[Any], Any]] = {
    "locker_id": str,
    "name": str,
    "lat": float,
    "lng": float,
    "opening_hours": str,
    "address": str,
    "distance_m": lambda metres: round(float(metres)),
}


def message_id(order_id: str, message_sk: str) -> str:
    """The same id for every attempt (and every endpoint) of one outbox message, so a receiver
    can recognise a retry it already processed."""
    digest = hashlib.sha256(f"{order_id}|{message_sk}".encode()).hexdigest()
    return f"msg_{digest[:32]}"


def event_body(message: Mapping[str, Any], order: Order, tracking_url: str) -> str:
    """The JSON body: `{type, timestamp, data}`. The order's address, email, phone and name stay
    out on purpose: the merchant has them, and a webhook URL is easier to leak than its API.
    A locker message's public fields go too (the locker, the deadline), its pickup code never:
    only the fields named here are copied, so the sealed code in the message stays behind."""
    data: dict[str, Any] = {
        "order_id": order.order_id,
        "external_id": order.external_id,
        "status": str(message.get("status") or order.status),
        "tracking_code": order.tracking_code,
        "tracking_url": tracking_url,
    }
    for optional in ("eta", "reason", "pickup_by", "rotated"):
        if message.get(optional):
            data[optional] = str(message[optional])
    window = message.get("eta_window")
    if message.get("eta") and isinstance(window, Mapping):
        data["eta_window"] = {"start": str(window["start"]), "end": str(window["end"])}
    for place in ("locker", "alternative"):
        if isinstance(message.get(place), Mapping):
            data[place] = _locker(message[place])
    body = {
        "type": message["type"],
        "timestamp": message.get("at") or order.updated_at,
        "data": data,
    }
    return json.dumps(body, separators=(",", ":"))


def _locker(view: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: shown(view[name])
        for name, shown in _LOCKER_FIELDS.items()
        if view.get(name) is not None
    }


def signed_headers(secret: str, msg_id: str, at: datetime, body: str) -> dict[str, str]:
    """The Standard Webhooks headers for one attempt (signed at the attempt's time)."""
    at = at.astimezone(UTC)
    return {
        "content-type": "application/json",
        "user-agent": "lastmile-webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body),
    }
