"""API Gateway's own answers (an unknown path, a throttle, a body past its limit, a timeout) in
the API's one error shape, `{"error": {"code", "message"}}`, as the app answers everything else
(chalicelib/api/http.py; the local runtime's gateway does the same, chalicelib/local/runtime.py)."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import CfnResource

# API Gateway quotes the message itself: `$context.error.messageString` is a JSON string.
MESSAGE = "$context.error.messageString"


def _template(code: str, message: str = MESSAGE) -> str:
    return '{"error": {"code": "' + code + '", "message": ' + message + "}}"


def _response(code: str, status: str | None = None, message: str | None = None) -> dict[str, Any]:
    text = json.dumps(message) if message is not None else MESSAGE
    response: dict[str, Any] = {"ResponseTemplates": {"application/json": _template(code, text)}}
    if status:
        response["StatusCode"] = status
    return response


NO_SUCH_PATH = _response("not_found", "404", "no such path")

RESPONSES: dict[str, dict[str, Any]] = {
    # An unknown path or method is a 403 "Missing Authentication Token" by default; with an
    # Authorization header that is not SigV4 (our bearer keys), an "invalid signature". No route
    # here uses IAM auth, so both only ever mean "no such path".
    "MISSING_AUTHENTICATION_TOKEN": NO_SUCH_PATH,
    "INVALID_SIGNATURE": NO_SUCH_PATH,
    "RESOURCE_NOT_FOUND": NO_SUCH_PATH,
    "REQUEST_TOO_LARGE": _response("payload_too_large", "413"),
    "THROTTLED": _response("too_many_requests", "429"),
    "UNSUPPORTED_MEDIA_TYPE": _response("unsupported_media_type", "415"),
    "INTEGRATION_TIMEOUT": _response("timeout", "504"),
    # Everything else keeps its status, its type as the code (lowercased, as ours are).
    "DEFAULT_4XX": {
        "ResponseTemplates": {
            "application/json": _template("$context.error.responseType.toLowerCase()")
        }
    },
    "DEFAULT_5XX": {
        "ResponseTemplates": {
            "application/json": _template("$context.error.responseType.toLowerCase()")
        }
    },
}


def add_gateway_responses(rest_api: CfnResource) -> None:
    """On Chalice's `AWS::Serverless::Api`: SAM writes them into the API's definition, so a
    change redeploys the stage (a separate AWS::ApiGateway::GatewayResponse would not)."""
    rest_api.add_property_override("GatewayResponses", RESPONSES)
