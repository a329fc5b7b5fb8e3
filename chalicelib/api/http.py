"""What every blueprint shares: JSON bodies, bearer credentials, and errors as
`{"error": {"code", "message"}}` with the status their family means."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from chalice import Blueprint
from chalice.app import Request, Response
from pydantic import BaseModel, ValidationError

from chalicelib.aws_errors import throttled
from chalicelib.domain import errors
from chalicelib.request_bodies import parse_json, validation_failed

STATUS: list[tuple[type[errors.DomainError], int]] = [
    (errors.MalformedBody, 400),
    (errors.PayloadTooLarge, 413),
    (errors.ValidationFailed, 422),
    (errors.AuthenticationFailed, 401),
    (errors.Forbidden, 403),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.TooManyAttempts, 429),
    (errors.UpstreamFailed, 502),
    (errors.ServiceBusy, 503),
]

logger = Logger(child=True)

MAX_BODY_BYTES = 1_000_000  # every body, signed or not, is refused past this before parsing
# No id of ours is longer (ours are under 64 bytes); a longer one in a path names nothing, and
# would otherwise reach DynamoDB as a key past its limits (2048 bytes partition, 1024 sort).
MAX_PATH_ID_BYTES = 256


def route(
    bp: Blueprint,
    path: str,
    *,
    refuse: Callable[[errors.DomainError], Response] | None = None,
    **options: Any,
) -> Callable[[Callable[..., Any]], Any]:
    """`bp.route`, with our errors answered as JSON at the status their family means (Chalice
    itself would turn any exception raised by a view into a bare 500), or as `refuse` answers
    them (an HTML page's own 404). A path id that cannot exist is not found before the view
    runs."""

    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def answer(*args: Any, **kwargs: Any) -> Any:
            try:
                _check_path_ids(kwargs)
                return view(*args, **kwargs)
            except errors.DomainError as exc:
                logger.info("request refused", extra={"code": exc.code, "reason": exc.message})
                return (refuse or error_response)(exc)
            except Exception as exc:
                if not throttled(exc):
                    raise
                # The store was over its rate past the SDK's retries: nothing done, say when
                # to come again (a storefront, a phone and a kiosk all retry a 503).
                logger.warning("request throttled by AWS", extra={"error": repr(exc)})
                busy = errors.ServiceBusy("the service is busy; retry in a moment")
                return (refuse or error_response)(busy)

        bp.route(path, **options)(answer)
        return view

    return register


def _check_path_ids(params: dict[str, Any]) -> None:
    for name, value in params.items():
        if len(str(value).encode("utf-8", errors="surrogatepass")) > MAX_PATH_ID_BYTES:
            raise errors.NotFound(
                f"{name}: no such object (ids are at most {MAX_PATH_ID_BYTES} bytes)", field=name
            )


def status_of(exc: errors.DomainError) -> int:
    return next(status for cls, status in STATUS if isinstance(exc, cls))


def error_response(exc: errors.DomainError) -> Response:
    body: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if exc.field:
        body["field"] = exc.field
    retry = getattr(exc, "retry_after", None)
    headers = {"Retry-After": str(retry)} if retry is not None else None
    return json_response({"error": body}, status=status_of(exc), headers=headers)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body=json.dumps(body),
        status_code=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


PDF = "application/pdf"  # a binary type of the app (app.py) and of API Gateway (infra)


def pdf_response(body: bytes, filename: str) -> Response:
    """A PDF answer (base64 through API Gateway; a client sends any Accept but JSON's alone)."""
    return Response(
        body=body,
        status_code=200,
        headers={"Content-Type": PDF, "Content-Disposition": f'inline; filename="{filename}"'},
    )


def raw_body(request: Request) -> bytes:
    body = request.raw_body or b""
    if isinstance(body, str):
        body = body.encode()
    if len(body) > MAX_BODY_BYTES:
        raise errors.PayloadTooLarge(f"body is over {MAX_BODY_BYTES} bytes")
    return body


def parse_body[M: BaseModel](request: Request, model: type[M], *, optional: bool = False) -> M:
    """The request body validated as `model`: 400 if missing or not JSON, 422 naming the bad
    field. With `optional`, no body at all means `{}` (a request whose every field has a
    default); otherwise an empty PUT is refused, never taken as "reset everything"."""
    body = raw_body(request)
    if not body.strip():
        if not optional:
            raise errors.MalformedBody("body: required (a JSON object)", field="body")
        body = b"{}"
    data = parse_json(body)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_failed(exc) from exc


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


# Chalice's own refusals ({"Code": "MethodNotAllowedError", "Message": ...}) in our codes.
_FRAMEWORK_CODES = {
    "MethodNotAllowedError": "method_not_allowed",
    "UnsupportedMediaType": "unsupported_media_type",
    "BadRequest": "bad_request",
    "BadRequestError": "malformed_body",
    "NotFoundError": "not_found",
    "InternalServerError": "internal_error",
}


def uniform_errors(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """HTTP middleware: the errors Chalice answers itself (405, 415, 400, and the 500 of an
    exception no view caught) in the one error shape, `{"error": {"code", "message"}}`."""
    response = get_response(event)
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and set(body) == {"Code", "Message"}:
        code = _FRAMEWORK_CODES.get(str(body["Code"]), "error")
        headers = {k: str(v) for k, v in response.headers.items() if k.lower() != "content-type"}
        return json_response(
            {"error": {"code": code, "message": str(body["Message"])}},
            status=response.status_code,
            headers=headers,
        )
    return response
