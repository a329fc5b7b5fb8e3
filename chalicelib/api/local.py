"""Routes that exist only in the local stage: what the runtime captured instead of sending."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.api.http import json_response, route

local = Blueprint(__name__)


@route(local, "/local/outbox", methods=["GET"])
def outbox() -> Any:
    from chalicelib.local.capture import captured_messages  # local stage only

    return json_response({"messages": captured_messages()})
