"""The outbox stream's consumer: a DynamoDB stream batch in, a partial batch response out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger

from chalicelib.store.orders import message_from_stream

logger = Logger(child=True)


def consume(event: dict[str, Any], handle: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    """Hand each new outbox item to `handle`, in stream order. On the first failure, report
    that record and every later one as failed (ReportBatchItemFailures): Lambda retries the
    batch from the first of them, so order is kept and nothing after a failure is lost;
    what had succeeded is recognised as done when it comes again."""
    records = event.get("Records") or []
    for index, record in enumerate(records):
        if record.get("eventName") != "INSERT":
            continue  # MODIFY never happens to the outbox; REMOVE is its TTL expiring
        try:
            handle(message_from_stream(record["dynamodb"]["NewImage"]))
        except Exception:  # reported to Lambda below, which retries it
            logger.exception(
                "notify: outbox message failed; it and the rest of the batch go back",
                sequence_number=record["dynamodb"]["SequenceNumber"],
            )
            return {
                "batchItemFailures": [
                    {"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in records[index:]
                ]
            }
    return {"batchItemFailures": []}
