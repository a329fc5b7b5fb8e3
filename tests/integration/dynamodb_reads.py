"""What the store reads from DynamoDB, recorded from the wire (botocore's events on the one
connection every model shares): each read's operation, key condition and items read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from chalicelib.store.models.base import MainItem, shared_connection

READS = ("GetItem", "Query", "Scan", "BatchGetItem")


@dataclass
class Read:
    operation: str
    params: dict[str, Any]
    items: int  # items DynamoDB read (a query's ScannedCount), whatever a filter kept

    def text(self) -> str:
        """The request as one string, to look for a key or a prefix in."""
        return json.dumps(self.params, sort_keys=True)


@contextmanager
def recorded_reads() -> Iterator[list[Read]]:
    """The reads made inside the block, in order (single-threaded callers)."""
    client = shared_connection(MainItem.Meta.region, MainItem.Meta.host).client
    reads: list[Read] = []

    def before(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["recorded_params"] = dict(params)

    def after(parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if model.name not in READS:
            return
        if model.name == "GetItem":
            items = 1 if parsed.get("Item") else 0
        elif model.name == "BatchGetItem":
            items = sum(len(found) for found in parsed.get("Responses", {}).values())
        else:
            items = int(parsed.get("ScannedCount", 0))
        reads.append(Read(model.name, context.get("recorded_params", {}), items))

    client.meta.events.register("before-parameter-build.dynamodb", before)
    client.meta.events.register("after-call.dynamodb", after)
    try:
        yield reads
    finally:
        client.meta.events.unregister("before-parameter-build.dynamodb", before)
        client.meta.events.unregister("after-call.dynamodb", after)
