"""Routes that exist only in the local stage: what the runtime captured instead of sending."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from chalicelib.api.http import json_response, parse_body, route
from chalicelib.domain.errors import NotFound

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


class ScheduledRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    time: AwareDatetime | None = None  # the time the run is scheduled for (default: now)


SCHEDULED = ("locker_sweep", "webhook_retries", "reconcile")


@route(local, "/local/schedules/{name}", methods=["POST"])
def run_schedule(name: str) -> Any:
    """Run one of app.py's scheduled functions now, with the CloudWatch event EventBridge would
    send (its `time` may be given: e.g. the locker sweep as of three days from now)."""
    from chalicelib.local.runtime import scheduled_event  # local stage only

    if name not in SCHEDULED:
        raise NotFound(f"no scheduled function {name}; one of {', '.join(SCHEDULED)}")
    body = parse_body(local.current_request, ScheduledRunIn)
    from chalicelib.local import app_module

    result = getattr(app_module(), name)(scheduled_event(name, body.time), None)
    return json_response({"function": name, "result": result})
