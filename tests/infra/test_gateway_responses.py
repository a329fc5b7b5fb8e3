"""API Gateway's own refusals answer in the API's error shape: an unknown path is 404 not_found
(not a 403 "Missing Authentication Token"), and every other 4xx and 5xx of the gateway's own is
`{"error": {"code", "message"}}` too."""

from __future__ import annotations

import json
from typing import Any

from tests.infra.templates import the_one

API = "AWS::Serverless::Api"


def _rendered(template: str, response_type: str) -> Any:
    """The body API Gateway would send: its variables filled in as it fills them."""
    return json.loads(
        template.replace("$context.error.messageString", json.dumps("Gateway's words")).replace(
            "$context.error.responseType.toLowerCase()", response_type.lower()
        )
    )


def test_an_unknown_path_is_404_not_found_in_the_error_shape(template: dict[str, Any]) -> None:
    _, api = the_one(template, API)
    responses = api["GatewayResponses"]
    for kind in ("MISSING_AUTHENTICATION_TOKEN", "INVALID_SIGNATURE", "RESOURCE_NOT_FOUND"):
        assert responses[kind]["StatusCode"] == "404", kind
        body = _rendered(responses[kind]["ResponseTemplates"]["application/json"], kind)
        assert body == {"error": {"code": "not_found", "message": "no such path"}}, kind


def test_every_other_gateway_error_is_in_the_error_shape(template: dict[str, Any]) -> None:
    _, api = the_one(template, API)
    responses = api["GatewayResponses"]
    expected = {
        "REQUEST_TOO_LARGE": ("413", "payload_too_large"),
        "THROTTLED": ("429", "too_many_requests"),
        "UNSUPPORTED_MEDIA_TYPE": ("415", "unsupported_media_type"),
        "INTEGRATION_TIMEOUT": ("504", "timeout"),
        "DEFAULT_4XX": (None, "default_4xx"),
        "DEFAULT_5XX": (None, "default_5xx"),
    }
    for kind, (status, code) in expected.items():
        assert responses[kind].get("StatusCode") == status, kind
        body = _rendered(responses[kind]["ResponseTemplates"]["application/json"], kind)
        assert body == {"error": {"code": code, "message": "Gateway's words"}}, kind
