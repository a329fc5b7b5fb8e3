"""Operator API (admin key) for running the platform: the outbox work parked after failures,
and putting the dead-lettered part of it back (`lastmile ops parked|redrive`)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chalicelib import bootstrap
from chalicelib.api.http import bearer, json_response, parse_body, route
from chalicelib.api.replies import ParkedOut, RedriveOut
from chalicelib.domain.errors import InvalidCursor
from chalicelib.intake.canonical import validation_failed
from chalicelib.notify.redrive import MAX_REDRIVE

ops = Blueprint(__name__)


class ParkedQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = None


class RedriveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=MAX_REDRIVE, ge=1, le=MAX_REDRIVE)


def _authorise() -> None:
    bootstrap.accounts().authenticate_admin(bearer(ops.current_request))


@route(ops, "/v1/ops/parked", methods=["GET"])
def list_parked() -> Any:
    """How much outbox work waits for a retry or sits in the dead-letter queue, and the dead
    letters themselves (what failed, for which order and handler; never the message)."""
    _authorise()
    try:
        query = ParkedQuery.model_validate(dict(ops.current_request.query_params or {}))
    except ValidationError as exc:
        raise validation_failed(exc) from exc
    if query.cursor is not None:
        # SQS has no positions to page by: the list is one sample, up to `limit`.
        raise InvalidCursor("the parked list is one page; it takes no cursor", field="cursor")
    return json_response(ParkedOut.of(bootstrap.redrive().listing(query.limit)).body())


@route(ops, "/v1/ops/redrive", methods=["POST"])
def redrive() -> Any:
    """Put dead-lettered outbox work back for a full round of attempts: counts of what went
    back, and what remains (the rest of a large DLQ waits for the next call)."""
    _authorise()
    body = parse_body(ops.current_request, RedriveIn)
    return json_response(RedriveOut.of(bootstrap.redrive().redrive(body.limit)).body())
