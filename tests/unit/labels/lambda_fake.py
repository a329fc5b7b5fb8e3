"""A stateful stand-in for boto3's Lambda client as the label renderer's adapter calls it:
`invoke` runs the real renderer handler on the JSON it is sent and answers in Lambda's shape
(the payload a stream, a raised function's report with FunctionError), or refuses as Lambda
does when told to (throttled, not found, unreachable). It records every call."""

from __future__ import annotations

import io
import json
import traceback
from typing import Any

from botocore.exceptions import ClientError, EndpointConnectionError

from chalicelib.labels import renderer


class FakeLambda:
    def __init__(self, function_name: str = "lastmile-test-render_labels") -> None:
        self.function_name = function_name
        self.calls: list[dict[str, Any]] = []
        self.refusals: list[str] = []  # error codes answered, one a call, before it runs again
        self.unreachable = False
        self.answer: bytes | None = None  # what the function answers instead of running

    def invoke(self, *, FunctionName: str, InvocationType: str, Payload: bytes) -> dict[str, Any]:
        self.calls.append(
            {"function": FunctionName, "type": InvocationType, "event": json.loads(Payload)}
        )
        if self.unreachable:
            raise EndpointConnectionError(endpoint_url="https://lambda.eu-west-1.amazonaws.com")
        if self.refusals:
            code = self.refusals.pop(0)
            status = 429 if code == "TooManyRequestsException" else 404
            raise ClientError(
                {
                    "Error": {"Code": code, "Message": "Rate Exceeded."},
                    "ResponseMetadata": {"HTTPStatusCode": status},
                },
                "Invoke",
            )
        if FunctionName != self.function_name:
            raise ClientError(
                {"Error": {"Code": "ResourceNotFoundException", "Message": FunctionName}},
                "Invoke",
            )
        if self.answer is not None:
            return {"StatusCode": 200, "Payload": io.BytesIO(self.answer)}
        try:
            result = renderer.handler(json.loads(Payload), None)
        except Exception as exc:  # noqa: BLE001 - the runtime reports any as a function error
            report = {
                "errorType": type(exc).__name__,
                "errorMessage": str(exc),
                "stackTrace": traceback.format_tb(exc.__traceback__),
            }
            return {
                "StatusCode": 200,
                "FunctionError": "Unhandled",
                "Payload": io.BytesIO(json.dumps(report).encode()),
            }
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(result).encode())}
