"""Public tracking (no credentials): the JSON view of a parcel by its tracking code."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.api.http import json_response, route
from chalicelib.tracking.public import public_view

tracking = Blueprint(__name__)


@route(tracking, "/v1/track/{tracking_code}", methods=["GET"])
def track(tracking_code: str) -> Any:
    order, timeline = bootstrap.orders().by_tracking_code(tracking_code)
    return json_response(public_view(order, timeline), headers={"Cache-Control": "no-store"})


@route(tracking, "/health", methods=["GET"])
def health() -> Any:
    return json_response({"status": "ok"})
