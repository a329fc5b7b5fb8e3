"""The bodies of the success answers still hand-written here, their views building them as
dicts (the order, the run, the fleet and the public tracking view are shaped by reply models
instead: api/replies.py, tracking/public.py). The fuzzer (tests/e2e/test_fuzz_openapi.py) holds
each answer to them. Fields listed as required are always there; every body may carry more."""

from __future__ import annotations

from typing import Any

from chalicelib.api.openapi.components import object_schema
from chalicelib.domain.order import ORDER_MESSAGES

TEXT = {"type": "string"}
MOMENT = {"type": "string", "format": "date-time"}
COUNT = {"type": "integer", "minimum": 0}
NEXT_CURSOR = {"type": ["string", "null"], "description": "null after the last page"}


def _list(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def schemas() -> dict[str, Any]:
    switched_off = object_schema(
        {"type": {"enum": list(ORDER_MESSAGES)}, "channel": {"enum": ["email", "sms"]}}
    )
    endpoint = object_schema(
        {
            "endpoint_id": TEXT,
            "url": TEXT,
            "types": _list(TEXT),
            "created_at": MOMENT,
            "enabled": {"type": "boolean"},
            "disabled_at": MOMENT,
            "disabled_reason": TEXT,
            "failing_since": MOMENT,
        },
        ["endpoint_id", "url", "types", "created_at", "enabled"],
    )
    upload = object_schema(
        {
            "url": TEXT | {"format": "uri"},
            "fields": {"type": "object", "additionalProperties": TEXT},
            "key": TEXT,
            "kind": {"enum": ["photo", "signature"]},
            "content_type": TEXT,
            "min_bytes": COUNT,
            "max_bytes": COUNT,
            "expires_in": COUNT,
        }
    )
    return {
        "ProofUpload": upload,
        "NotificationPreferences": object_schema({"off": _list(switched_off)}),
        "WebhookEndpoint": endpoint,
        "WebhookEndpointCreated": endpoint
        | {
            "properties": endpoint["properties"] | {"secret": TEXT},
            "required": [*endpoint["required"], "secret"],
        },
        "WebhookEndpoints": object_schema(
            {
                "items": _list({"$ref": "#/components/schemas/WebhookEndpoint"}),
                "endpoints": _list({"$ref": "#/components/schemas/WebhookEndpoint"}),
                "next_cursor": NEXT_CURSOR,
            }
        ),
        "Health": object_schema({"status": {"const": "ok"}}),
    }
