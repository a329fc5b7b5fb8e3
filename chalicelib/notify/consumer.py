"""The outbox stream's consumer: a DynamoDB stream batch in, a partial batch response out.
A handler's failure parks that handler's work (notify/parking.py), so the record succeeds and
the shard moves on; only a record whose failed work could not be parked goes back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger

from chalicelib.notify.parking import (
    Handler,
    Parking,
    RetrySchedule,
    after_failure,
    first_failure,
    run_each,
)
from chalicelib.store.orders import message_from_stream

logger = Logger(child=True)


def consume(
    event: dict[str, Any],
    handlers: Mapping[str, Handler],
    parking: Parking,
    schedule: RetrySchedule,
) -> dict[str, Any]:
    """Hand each new outbox item to every handler, in stream order; each handler that failed
    has its work parked for a later attempt. When parking fails too, report that record and
    every later one as failed (ReportBatchItemFailures): Lambda retries the batch from the
    first of them, bisecting and then dead-lettering it (infra/), and what had succeeded is
    recognised as done when it comes again."""
    records = event.get("Records") or []
    for index, record in enumerate(records):
        if record.get("eventName") != "INSERT":
            continue  # MODIFY never happens to the outbox; REMOVE is its TTL expiring
        message = message_from_stream(record["dynamodb"]["NewImage"])
        failures = run_each(handlers, message)
        try:
            for name, error in failures.items():
                after_failure(parking, schedule, first_failure(name, message, error))
        except Exception:  # reported to Lambda below, which retries it
            logger.exception(
                "notify: failed work could not be parked; it and the rest of the batch go back",
                sequence_number=record["dynamodb"]["SequenceNumber"],
            )
            return {
                "batchItemFailures": [
                    {"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in records[index:]
                ]
            }
    return {"batchItemFailures": []}
