"""The partner carriers' part of the OpenAPI document: their signed status webhooks
(api/carrier_webhooks.py)."""

from __future__ import annotations

from typing import Any

from chalicelib.api.openapi.components import add_reply, op
from chalicelib.api.operator_replies import CarrierWebhookOutcome


def paths() -> dict[str, dict[str, Any]]:
    return {
        "/v1/webhooks/carriers/{carrier}": {
            "post": op(
                "A partner carrier's delivery status (uber_direct: x-uber-signature; "
                "doordash_drive: the endpoint's Authorization); a stale, duplicated or "
                "unordered status changes nothing",
                ("uberSignature", "doordashAuthorization"),
                {
                    "200": "applied or unchanged (see `outcome`)",
                    "400": "body is not JSON, or not a status of the carrier",
                    "401": "bad or missing signature",
                    "404": "no such carrier",
                    "413": "body over 1 MB",
                },
                tags=("carriers",),
                replies={"200": "CarrierWebhookOutcome"},
            )
        }
    }


def add_schemas(schemas: dict[str, Any]) -> None:
    add_reply(schemas, CarrierWebhookOutcome)
