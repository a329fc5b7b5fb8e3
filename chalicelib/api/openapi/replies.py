"""The bodies of the few success answers still hand-written here, their views building them
as dicts (every other answer is shaped by a reply model instead: api/replies.py,
tracking/public.py). The fuzzer (tests/e2e/test_fuzz_openapi.py) holds each answer to them.
Fields listed as required are always there; every body may carry more."""

from __future__ import annotations

from typing import Any

from chalicelib.api.openapi.components import object_schema
from chalicelib.domain.order import ORDER_MESSAGES

TEXT = {"type": "string"}
COUNT = {"type": "integer", "minimum": 0}


def _list(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def schemas() -> dict[str, Any]:
    switched_off = object_schema(
        {"type": {"enum": list(ORDER_MESSAGES)}, "channel": {"enum": ["email", "sms"]}}
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
        "Health": object_schema({"status": {"const": "ok"}}),
    }
