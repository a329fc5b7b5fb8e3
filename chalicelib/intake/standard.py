"""Standard Webhooks (https://www.standardwebhooks.com) for every other platform: the body is
`{type, data}` with `data` a canonical order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from chalicelib.domain.errors import SignatureInvalid, ValidationFailed
from chalicelib.intake.canonical import parse_canonical
from chalicelib.orders.service import Action, Ignored, Inbound

SOURCE = "generic"
TYPES = {
    "order.created": Action.UPSERT,
    "order.updated": Action.UPSERT,
    "order.cancelled": Action.CANCEL,
}
HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


def verify(raw_body: bytes, headers: Mapping[str, str], secrets: Iterable[str]) -> str:
    """Check the signature (any of the sender's, against any of ours: keys rotate on both
    sides) and the 5-minute timestamp tolerance; returns the webhook id."""
    wanted = {name: headers.get(name, "") for name in HEADERS}
    for secret in secrets:
        try:
            Webhook(secret).verify(raw_body, wanted, json_parse=False)
        except (WebhookVerificationError, ValueError):
            continue  # a malformed header is as bad as a wrong one
        return wanted["webhook-id"]
    raise SignatureInvalid("webhook-signature does not match or the timestamp is out of range")


def translate(webhook_id: str, payload: Any) -> Inbound | Ignored:
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        raise ValidationFailed("type: required", field="type")
    action = TYPES.get(payload["type"])
    if action is None:
        return Ignored(f"type {payload['type']!r} is not handled")
    data = payload.get("data")
    if not isinstance(data, dict):
        raise ValidationFailed("data: must be an object", field="data")
    updated_at = data.get("updated_at") if isinstance(data.get("updated_at"), str) else None
    if action is Action.CANCEL:
        external_id = data.get("external_id")
        if not isinstance(external_id, str) or not external_id:
            raise ValidationFailed("data.external_id: required", field="data.external_id")
        return Inbound(
            source=SOURCE,
            action=action,
            external_id=external_id,
            event_id=webhook_id,
            source_updated_at=updated_at,
        )
    order = parse_canonical(data, prefix="data.")
    return Inbound(
        source=SOURCE,
        action=action,
        external_id=order.external_id,
        draft=order.to_draft(),
        event_id=webhook_id,
        source_updated_at=order.updated_at.isoformat() if order.updated_at else None,
    )
