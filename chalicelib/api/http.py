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

from chalicelib.domain import errors
from chalicelib.intake.canonical import validation_failed
from chalicelib.intake.storefront_webhooks import parse_json

STATUS: list[tuple[type[errors.DomainError], int]] = [
    (errors.MalformedBody, 400),
    (errors.PayloadTooLarge, 413),
    (errors.ValidationFailed, 422),
    (errors.AuthenticationFailed, 401),
    (errors.Forbidden, 403),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.TooManyAttempts, 429),
]

logger = Logger(child=True)

MAX_BODY_BYTES = 1_000_000  # every body, signed or not, is refused past this before parsing


def route(bp: Blueprint, path: str, **options: Any) -> Callable[[Callable[..., Any]], Any]:
    """`bp.route`, with our errors answered as JSON at the status their family means (Chalice
    itself would turn any exception raised by a view into a bare 500)."""

    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def answer(*args: Any, **kwargs: Any) -> Any:
            try:
                return view(*args, **kwargs)
            except errors.DomainError as exc:
                logger.info("request refused", extra={"code": exc.code, "reason": exc.message})
                return error_response(exc)

        bp.route(path, **options)(answer)
        return view

    return register


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


def raw_body(request: Request) -> bytes:
    body = request.raw_body or b""
    if isinstance(body, str):
        body = body.encode()
    if len(body) > MAX_BODY_BYTES:
        raise errors.PayloadTooLarge(f"body is over {MAX_BODY_BYTES} bytes")
    return body


def parse_body[M: BaseModel](request: Request, model: type[M]) -> M:
    """The request body validated as `model`: 400 if not JSON, 422 naming the bad field."""
    data = parse_json(raw_body(request) or b"{}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_failed(exc) from exc


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None
