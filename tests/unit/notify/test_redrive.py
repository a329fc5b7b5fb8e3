"""Redrive puts dead letters back: parked work with its attempts forgotten, a failed stream
batch as one piece of work per message and handler; what it cannot put back stays."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from chalicelib.notify.parking import ParkedWork
from chalicelib.notify.redrive import Redrive
from chalicelib.notify.sqs_parking import DeadLetter

BATCH = {
    "shardId": "shardId-1",
    "startSequenceNumber": "100",
    "endSequenceNumber": "101",
    "batchSize": 2,
    "streamArn": "arn:aws:dynamodb:eu-west-1:123456789012:table/outbox/stream/x",
}


def work(order_id: str, attempts: int = 13) -> ParkedWork:
    message = {"order_id": order_id, "type": "order.confirmed", "customer_email": "ada@example.com"}
    return ParkedWork("notifications", message, attempts, "VendorUnavailable: 503", "t0", "t1")


class DeadLetterQueue:
    """A dead-letter queue and a retry queue, in memory."""

    def __init__(self, *bodies: str) -> None:
        self.letters = [
            DeadLetter(f"id{n}", b, f"r{n}", 1_700_000_000_000) for n, b in enumerate(bodies)
        ]
        self.parked: list[tuple[ParkedWork, int]] = []

    def park(self, work: ParkedWork, delay_s: int) -> None:
        self.parked.append((work, delay_s))

    def counts(self) -> dict[str, int]:
        return {"retrying": len(self.parked), "dead": len(self.letters)}

    def peek_dead(self, limit: int) -> list[DeadLetter]:
        return self.letters[:limit]

    def take_dead(self, limit: int, hold_s: int = 120) -> Iterator[DeadLetter]:
        yield from list(self.letters[:limit])

    def forget_dead(self, letter: DeadLetter) -> None:
        self.letters.remove(letter)


class Stream:
    def __init__(self, messages: list[dict[str, Any]] | None) -> None:
        self.messages_ = messages
        self.asked: list[dict[str, Any]] = []

    def messages(self, batch: dict[str, Any]) -> list[dict[str, Any]] | None:
        self.asked.append(batch)
        return self.messages_


def test_parked_work_goes_back_with_its_attempts_forgotten_and_leaves_the_dlq() -> None:
    queue = DeadLetterQueue(work("ord_a").to_json())

    done = Redrive(queue, Stream([])).redrive()

    [(again, delay)] = queue.parked
    assert (again.handler, again.message["order_id"], again.attempts, delay) == (
        "notifications",
        "ord_a",
        0,
        0,
    )
    assert done["work"] == 1 and done["remaining"] == 0 and queue.letters == []


def test_a_failed_stream_batch_is_read_back_and_parked_for_every_handler() -> None:
    queue = DeadLetterQueue(json.dumps({"version": "1.0", "DDBStreamBatchInfo": BATCH}))
    stream = Stream([{"order_id": "ord_a"}, {"order_id": "ord_b"}])

    done = Redrive(queue, stream, handlers=("notifications", "fulfilment")).redrive()

    assert stream.asked == [BATCH]
    assert sorted((w.message["order_id"], w.handler, w.attempts) for w, _ in queue.parked) == [
        ("ord_a", "fulfilment", 0),
        ("ord_a", "notifications", 0),
        ("ord_b", "fulfilment", 0),
        ("ord_b", "notifications", 0),
    ]
    assert (done["stream_batches"], done["stream_messages"], done["remaining"]) == (1, 2, 0)


def test_what_cannot_be_put_back_stays_in_the_dlq() -> None:
    expired = json.dumps({"DDBStreamBatchInfo": BATCH})
    queue = DeadLetterQueue(expired, "not json at all")

    done = Redrive(queue, Stream(None)).redrive()  # the stream no longer holds the batch

    assert (done["expired"], done["unreadable"], done["remaining"]) == (1, 1, 2)
    assert queue.parked == []


def test_the_listing_names_the_work_but_never_the_messages_content() -> None:
    queue = DeadLetterQueue(work("ord_a").to_json(), json.dumps({"DDBStreamBatchInfo": BATCH}))

    listing = Redrive(queue, Stream([])).listing(limit=50)

    assert listing["counts"] == {"retrying": 0, "dead": 2} and listing["next_cursor"] is None
    parked, batch = listing["items"]
    assert parked["kind"] == "work" and parked["order_id"] == "ord_a"
    assert (parked["handler"], parked["attempts"]) == ("notifications", 13)
    assert parked["dead_lettered_at"] == "2023-11-14T22:13:20.000Z"
    assert batch["kind"] == "stream_batch" and batch["records"] == 2
    assert "ada@example.com" not in json.dumps(listing)
