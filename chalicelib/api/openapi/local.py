"""The local stage's part of the OpenAPI document: the routes only the local runtime serves
(api/local.py)."""

from __future__ import annotations

from typing import Any

from chalicelib import jobs
from chalicelib.api.openapi.components import op


def paths() -> dict[str, dict[str, Any]]:
    return {
        "/local/outbox": {
            "get": op(
                "Email and SMS the local runtime captured",
                None,
                {"200": "messages"},
                tags=("local",),
            )
        },
        "/local/vendors/sendgrid/script": {
            "post": op(
                "The local SendGrid's next answers, e.g. {statuses: [429, 202]}",
                None,
                {"200": "scripted", "422": "invalid"},
                tags=("local",),
            )
        },
        "/local/vendors/{vendor}/outage": {
            "post": op(
                "Take a vendor's stand-in down (sendgrid, sns): {status: 429|500|502|503|504, "
                "seconds} answers every call with `status` for `seconds`, then it recovers; "
                "seconds 0 ends it. A vendor with no stand-in in this runtime (stripe, shopify, "
                "carriers so far) is 404 unknown_vendor",
                None,
                {"200": "{vendor, status, seconds}", "404": "unknown_vendor", "422": "invalid"},
                tags=("local",),
            )
        },
        "/local/schedules/{name}": {
            "post": op(
                f"Run a scheduled function now ({', '.join(jobs.SCHEDULED)}), "
                "optionally as of {time}: e.g. the locker sweep three days ahead",
                None,
                {"200": "{function, result}", "404": "no such function", "422": "invalid"},
                tags=("local",),
            )
        },
    }
