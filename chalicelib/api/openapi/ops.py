"""The operators' running-the-platform part of the OpenAPI document: parked outbox work and
its redrive (api/ops.py)."""

from __future__ import annotations

from typing import Any

from chalicelib.api.openapi.components import add_model, add_reply, op, query
from chalicelib.api.ops import RedriveIn
from chalicelib.api.replies import ParkedOut, RedriveOut


def paths() -> dict[str, dict[str, Any]]:
    redrive = op(
        "Put dead-lettered outbox work back for a full round of attempts (parked work with its "
        "attempts forgotten; a failed stream batch read back from the stream, for every "
        "handler); what the stream no longer holds, or cannot be read, stays",
        "operator",
        {"200": "what went back, and what remains", "401": "not an operator", "422": "invalid"},
        "RedriveIn",
        ("operator",),
        replies={"200": "RedriveOut"},
    )
    redrive["requestBody"]["required"] = False  # {} or no body: up to the most at once
    return {
        "/v1/ops/parked": {
            "get": op(
                "Outbox work waiting for a retry or dead-lettered (counts), and the dead letters "
                "(kind, handler, order, attempts, last error; never the message itself)",
                "operator",
                {
                    "200": "the parked work",
                    "400": "a cursor (one page only)",
                    "401": "not an operator",
                    "422": "invalid limit",
                },
                tags=("operator",),
                replies={"200": "ParkedOut"},
                query=[
                    query("limit", "dead letters listed (1-200, default 50)", type="integer"),
                    query("cursor", "not taken: the list is one sample of the queue"),
                ],
            )
        },
        "/v1/ops/redrive": {"post": redrive},
    }


def add_schemas(schemas: dict[str, Any]) -> None:
    add_model(schemas, RedriveIn)
    add_reply(schemas, ParkedOut, RedriveOut)
