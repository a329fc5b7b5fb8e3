"""Putting dead-lettered outbox work back (`POST /v1/ops/redrive`, `lastmile ops redrive`) and
listing it: parked work goes back to the retry queue with its attempts forgotten; a stream
batch that Lambda gave up on is read back from the stream and parked, one piece of work per
message and handler, so every handler sees each message again (each is idempotent)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from chalicelib.domain.times import utc_now
from chalicelib.notify.parking import OUTBOX_HANDLERS, ParkedWork, Unparkable
from chalicelib.notify.sqs_parking import DeadLetter

logger = Logger(child=True)

MAX_REDRIVE = 1000  # dead letters per call
BUDGET_S = 20.0  # under the API function's 30 s timeout: the rest waits for the next call


class DeadLetters(Protocol):
    def park(self, work: ParkedWork, delay_s: int) -> None: ...

    def counts(self) -> dict[str, int]: ...

    def peek_dead(self, limit: int) -> list[DeadLetter]: ...

    def take_dead(self, limit: int, hold_s: int = 120) -> Any: ...

    def forget_dead(self, letter: DeadLetter) -> None: ...


class StreamRecords(Protocol):
    def messages(self, batch: dict[str, Any]) -> list[dict[str, Any]] | None: ...


def _stream_batch(body: str) -> dict[str, Any] | None:
    """The batch metadata of a stream mapping's failure record, if that is what `body` is."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    batch = data.get("DDBStreamBatchInfo") if isinstance(data, dict) else None
    return batch if isinstance(batch, dict) else None


def _sent_at(letter: DeadLetter) -> str | None:
    if letter.sent_at_ms is None:
        return None
    sent = datetime.fromtimestamp(letter.sent_at_ms / 1000, UTC)
    return sent.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Redrive:
    def __init__(
        self,
        parking: DeadLetters,
        stream: StreamRecords,
        handlers: Sequence[str] = OUTBOX_HANDLERS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._parking = parking
        self._stream = stream
        self._handlers = tuple(handlers)
        self._clock = clock

    def listing(self, limit: int) -> dict[str, Any]:
        """What waits (counts) and up to `limit` dead letters, described without their
        messages' content (the customer's details stay in the queue)."""
        items = [self._describe(letter) for letter in self._parking.peek_dead(limit)]
        return {"counts": self._parking.counts(), "items": items, "next_cursor": None}

    def redrive(self, limit: int = MAX_REDRIVE) -> dict[str, Any]:
        """Put up to `limit` dead letters back, within the time budget; what was done."""
        done = {"work": 0, "stream_batches": 0, "stream_messages": 0, "expired": 0, "unreadable": 0}
        deadline = self._clock() + BUDGET_S
        for letter in self._parking.take_dead(limit):
            if self._put_back(letter, done) in ("work", "stream_batch"):
                self._parking.forget_dead(letter)  # after it was parked: never lost between
            if self._clock() > deadline:
                break
        logger.info("outbox dead letters redriven", extra=done)
        return {**done, "remaining": self._parking.counts()["dead"]}

    def _put_back(self, letter: DeadLetter, done: dict[str, int]) -> str:
        try:
            work = ParkedWork.from_json(letter.body)
        except Unparkable:
            pass
        else:
            self._parking.park(work.fresh(), 0)
            done["work"] += 1
            return "work"
        batch = _stream_batch(letter.body)
        if batch is None:
            # Left in the queue for someone to read: it is neither of the two kinds we write.
            logger.error("outbox dead letter not understood, left", message_id=letter.message_id)
            done["unreadable"] += 1
            return "unreadable"
        messages = self._stream.messages(batch)
        if messages is None:
            # Left too: what it names is gone, but an operator should see that it was.
            logger.error("outbox stream batch no longer in the stream", batch=batch)
            done["expired"] += 1
            return "expired"
        at = utc_now()
        for message in messages:
            for handler in self._handlers:
                reason = "redriven from a failed stream batch"
                self._parking.park(ParkedWork(handler, message, 0, reason, at, at), 0)
        done["stream_batches"] += 1
        done["stream_messages"] += len(messages)
        return "stream_batch"

    def _describe(self, letter: DeadLetter) -> dict[str, Any]:
        described: dict[str, Any] = {"id": letter.message_id, "dead_lettered_at": _sent_at(letter)}
        try:
            work = ParkedWork.from_json(letter.body)
        except Unparkable:
            batch = _stream_batch(letter.body)
            if batch is None:
                return described | {"kind": "unreadable"}
            return described | {
                "kind": "stream_batch",
                "records": batch.get("batchSize"),
                "shard_id": batch.get("shardId"),
                "first_sequence_number": batch.get("startSequenceNumber"),
                "last_sequence_number": batch.get("endSequenceNumber"),
            }
        return described | {
            "kind": "work",
            **work.label,
            "error": work.error,
            "first_failed_at": work.first_failed_at,
            "last_failed_at": work.last_failed_at,
        }
