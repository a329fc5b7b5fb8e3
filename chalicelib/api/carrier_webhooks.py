"""Partner carriers' status webhooks (Uber Direct, DoorDash Drive): verified on the raw body
before anything is parsed or written, then applied to the order the job carries."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.api.http import json_response, raw_body, route
from chalicelib.api.operator_replies import CarrierWebhookOutcome

carrier_webhooks = Blueprint(__name__)

# The carriers send JSON; any type is let through so that the signature check decides.
WEBHOOK_TYPES = ["application/json", "text/plain"]


@route(
    carrier_webhooks,
    "/v1/webhooks/carriers/{carrier}",
    methods=["POST"],
    content_types=WEBHOOK_TYPES,
)
def carrier_status(carrier: str) -> Any:
    request = carrier_webhooks.current_request
    changed = bootstrap.carrier_webhooks().receive(carrier, raw_body(request), request.headers)
    return json_response(CarrierWebhookOutcome.of(changed).body())
