"""The LabelRenderer port (labels/sheets.py) on the label renderer Lambda function
(labels/renderer.py), invoked synchronously with boto3: a sheet's JSON in, its PDF back.

What Lambda answers is translated here, so a route never answers a bare 500: Lambda over its
rate or concurrency (after the SDK's own retries) is ServiceBusy, 503; the function failing
(an error, a timeout, an answer past 6 MB), Lambda failing, or the call never arriving is
UpstreamFailed, 502. Nothing is written before the labels are drawn, so either may be retried.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.aws_errors import error_code, throttled
from chalicelib.domain.errors import ServiceBusy, UpstreamFailed
from chalicelib.labels.faces import LabelFace, pdf_too_large, sheet_to_json

logger = Logger(child=True)

# Lambda's refusals for its rate, concurrency or capacity: the same call shortly after will do.
BUSY = frozenset({"TooManyRequestsException", "EC2ThrottledException"})
FAILED = "the label printer failed; retry in a moment"


class LambdaLabelRenderer:
    def __init__(self, client: Any, function_name: str) -> None:
        self._client = client
        self._function = function_name

    def render(self, faces: Sequence[LabelFace]) -> bytes:
        if not self._function:
            logger.error("LASTMILE_LABEL_RENDERER_FUNCTION is not set")
            raise UpstreamFailed(FAILED)
        payload = json.dumps(sheet_to_json(faces)).encode()
        try:
            answer = self._client.invoke(
                FunctionName=self._function, InvocationType="RequestResponse", Payload=payload
            )
            body = answer["Payload"].read()
        except ClientError as exc:
            if throttled(exc) or error_code(exc) in BUSY:
                logger.warning("label renderer throttled", extra={"code": error_code(exc)})
                raise ServiceBusy("the label printer is busy; retry in a moment") from exc
            logger.error("label renderer refused", extra={"code": error_code(exc)})
            raise UpstreamFailed(FAILED) from exc
        except BotoCoreError as exc:  # no connection, a read timeout (after the SDK's retries)
            logger.error("label renderer unreachable", extra={"error": repr(exc)})
            raise UpstreamFailed(FAILED) from exc
        return _pdf(answer.get("FunctionError"), body)


def _pdf(function_error: str | None, body: bytes) -> bytes:
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if function_error or not isinstance(answer, dict):
        # The runtime's own report, {errorType, errorMessage}: logged, never shown to callers.
        report = answer if isinstance(answer, dict) else {}
        logger.error(
            "label renderer failed",
            extra={
                "function_error": function_error,
                "error_type": report.get("errorType"),
                "error_message": str(report.get("errorMessage", ""))[:500],
            },
        )
        raise UpstreamFailed(FAILED)
    if isinstance(answer.get("too_large"), int):
        raise pdf_too_large(answer["too_large"])
    try:
        return base64.b64decode(answer["pdf"], validate=True)
    except (KeyError, TypeError, binascii.Error) as exc:
        logger.error("label renderer answered no PDF", extra={"keys": sorted(answer)[:10]})
        raise UpstreamFailed(FAILED) from exc
