"""Routes that exist only in the local stage: what the runtime captured instead of sending."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.api.http import json_response, parse_body, route

local = Blueprint(__name__)


@route(local, "/local/outbox", methods=["GET"])
def outbox() -> Any:
    from chalicelib.local.capture import captured_messages  # local stage only

    return json_response({"messages": captured_messages()})


class VendorScriptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    statuses: list[int] = Field(min_length=1, max_length=20)


@route(local, "/local/vendors/sendgrid/script", methods=["POST"])
def script_sendgrid() -> Any:
    """Make the local SendGrid answer the next sends with these statuses (e.g. [429, 202]):
    to watch throttling and outages being retried, by hand or from a test."""
    from chalicelib.local.runtime import current_runtime  # local stage only

    body = parse_body(local.current_request, VendorScriptIn)
    runtime = current_runtime()
    assert runtime is not None and runtime.sendgrid is not None
    runtime.sendgrid.script(body.statuses)
    return json_response({"scripted": body.statuses})
