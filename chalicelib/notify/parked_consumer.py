"""The retry queue's consumer: each SQS message is one handler's parked work, attempted again
by that handler alone; failing again, it is parked for its next attempt or dead-lettered."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger

from chalicelib.notify.parking import (
    Handler,
    ParkedWork,
    Parking,
    RetrySchedule,
    Unparkable,
    after_failure,
)

logger = Logger(child=True)


class UnknownHandler(LookupError):
    """Parked work names a handler this version does not have."""


def retry_parked(
    event: dict[str, Any],
    handlers: Mapping[str, Handler],
    parking: Parking,
    schedule: RetrySchedule,
) -> dict[str, Any]:
    """An SQS batch of parked work in, a partial batch response out. A message whose next step
    (its retry parked, or its dead letter) could not be written is reported failed: SQS gives
    it again after its visibility timeout, and its queue's redrive policy dead-letters it
    after a few such receives."""
    failed: list[dict[str, str]] = []
    for record in event.get("Records") or []:
        try:
            work = ParkedWork.from_json(record["body"])
        except Unparkable:
            logger.error("notify retries: not parked work, left to the DLQ", id=record["messageId"])
            failed.append({"itemIdentifier": record["messageId"]})
            continue
        try:
            _attempt(work, handlers, parking, schedule)
        except Exception:  # the message comes back from SQS
            logger.exception("notify retries: could not park or dead-letter", **work.label)
            failed.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failed}


def _attempt(
    work: ParkedWork,
    handlers: Mapping[str, Handler],
    parking: Parking,
    schedule: RetrySchedule,
) -> str:
    handler = handlers.get(work.handler)
    try:
        if handler is None:
            raise UnknownHandler(f"no outbox handler {work.handler!r}")
        handler(work.message)
    except Exception as exc:  # this handler's work alone waits for its next attempt
        logger.exception("notify retries: parked work failed again", **work.label)
        again = work.failed_again(exc)
        if handler is None:  # no later attempt can find it either
            parking.dead_letter(again)
            return "dead_lettered"
        return after_failure(parking, schedule, again)
    logger.info("notify retries: parked work done", **work.label)
    return "done"
