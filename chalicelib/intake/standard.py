"""Standard Webhooks (https://www.standardwebhooks.com) for every other platform: the body is
`{type, data}` with `data` a canonical order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from chalicelib.domain.errors import SignatureInvalid, ValidationFailed
from chalicelib.domain.order import MAX_EVENT_ID_BYTES, check_id
from chalicelib.intake.canonical import (
    ExternalId,
    StoreTime,
    parse_canonical,
    stored_time,
    validation_failed,
)
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
        # Signed, but still a key of ours: bounded like every event id.
        return check_id(wanted["webhook-id"], field="webhook-id", max_bytes=MAX_EVENT_ID_BYTES)
    raise SignatureInvalid("webhook-signature does not match or the timestamp is out of range")


class Cancellation(BaseModel):
    """The `data` of an `order.cancelled`: which order, no more of it is needed."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    external_id: ExternalId
    updated_at: StoreTime | None = None


def translate(webhook_id: str, payload: Any) -> Inbound | Ignored:
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        raise ValidationFailed("type: required", field="type")
    action = TYPES.get(payload["type"])
    if action is None:
        return Ignored(f"type {payload['type'][:80]!r} is not handled")
    data = payload.get("data")
    if not isinstance(data, dict):
        raise ValidationFailed("data: must be an object", field="data")
    if action is Action.CANCEL:
        try:
            cancel = Cancellation.model_validate(data)
        except ValidationError as exc:
            raise validation_failed(exc, prefix="data.") from exc
        return Inbound(
            source=SOURCE,
            action=action,
            external_id=cancel.external_id,
            event_id=webhook_id,
            source_updated_at=stored_time(cancel.updated_at),
        )
    order = parse_canonical(data, prefix="data.")
    return Inbound(
        source=SOURCE,
        action=action,
        external_id=order.external_id,
        draft=order.to_draft(),
        event_id=webhook_id,
        source_updated_at=order.source_updated_at,
    )
