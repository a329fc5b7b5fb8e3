"""Parked outbox work in Amazon SQS: the retry queue (a delay per message, up to 15 minutes)
and the dead-letter queue, which `lastmile ops` lists and redrives."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from chalicelib.notify.parking import ParkedWork

_PEEK_ROUNDS = 25  # receives of up to 10 each when listing, before giving up on new ones


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    body: str
    receipt: str
    sent_at_ms: int | None


class SqsParking:
    def __init__(self, sqs_client: Any, retry_queue_url: str, dead_letter_queue_url: str) -> None:
        self._sqs = sqs_client
        self._retry = retry_queue_url
        self._dead = dead_letter_queue_url

    def park(self, work: ParkedWork, delay_s: int) -> None:
        self._sqs.send_message(
            QueueUrl=self._retry, MessageBody=work.to_json(), DelaySeconds=delay_s
        )

    def dead_letter(self, work: ParkedWork) -> None:
        self._sqs.send_message(QueueUrl=self._dead, MessageBody=work.to_json())

    def counts(self) -> dict[str, int]:
        """Approximate, as SQS counts: waiting for a retry (delayed, due, being attempted) and
        dead-lettered."""
        names = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesDelayed",
            "ApproximateNumberOfMessagesNotVisible",
        ]

        def total(url: str) -> int:
            found = self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)
            return sum(int(found["Attributes"].get(n, 0)) for n in names)

        return {"retrying": total(self._retry), "dead": total(self._dead)}

    def peek_dead(self, limit: int) -> list[DeadLetter]:
        """Up to `limit` dead letters, left where they are (received with no visibility
        timeout; SQS returns a sample each time, so this gathers until nothing new comes)."""
        seen: dict[str, DeadLetter] = {}
        for _ in range(_PEEK_ROUNDS):
            new = 0
            for letter in self._receive(min(10, limit), visibility_s=0):
                if letter.message_id not in seen:
                    seen[letter.message_id] = letter
                    new += 1
            if not new or len(seen) >= limit:
                break
        return list(seen.values())[:limit]

    def take_dead(self, limit: int, hold_s: int = 120) -> Iterator[DeadLetter]:
        """Dead letters to redrive, each hidden from other readers for `hold_s` until deleted."""
        taken = 0
        while taken < limit:
            batch = self._receive(min(10, limit - taken), visibility_s=hold_s)
            if not batch:
                return
            for letter in batch:
                taken += 1
                yield letter

    def forget_dead(self, letter: DeadLetter) -> None:
        self._sqs.delete_message(QueueUrl=self._dead, ReceiptHandle=letter.receipt)

    def _receive(self, count: int, *, visibility_s: int) -> list[DeadLetter]:
        answer = self._sqs.receive_message(
            QueueUrl=self._dead,
            MaxNumberOfMessages=count,
            VisibilityTimeout=visibility_s,
            WaitTimeSeconds=0,
            MessageSystemAttributeNames=["SentTimestamp"],
        )
        return [
            DeadLetter(
                m["MessageId"],
                m["Body"],
                m["ReceiptHandle"],
                int(m.get("Attributes", {}).get("SentTimestamp", 0)) or None,
            )
            for m in answer.get("Messages", [])
        ]
