"""The outbox pipeline's durability against moto: a stream record the notify function keeps
failing is retried a bounded number of times, then its batch's metadata goes to the
dead-letter queue and the shard moves on; redrive reads it back from the stream and parks it
for every handler; parked work past its last attempt is dead-lettered and redriven fresh."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import bootstrap
from chalicelib.local.aws import REGION, EmbeddedAws, create_queues
from chalicelib.local.queue_poller import QueuePoller
from chalicelib.local.stream_poller import StreamPoller, stream_arn
from chalicelib.notify.parked_consumer import retry_parked
from chalicelib.notify.parking import ParkedWork, RetrySchedule
from chalicelib.notify.redrive import Redrive
from chalicelib.notify.sqs_parking import SqsParking
from chalicelib.notify.stream_records import DynamoDbStreamRecords
from chalicelib.store.orders import outbox_message

HANDLERS = ("notifications", "fulfilment")


@pytest.fixture
def queues(aws: EmbeddedAws) -> dict[str, str]:
    return create_queues(aws.client("sqs"), suffix=f"-{time.time_ns()}")


@pytest.fixture
def parking(aws: EmbeddedAws, queues: dict[str, str]) -> SqsParking:
    return SqsParking(
        aws.client("sqs"),
        queues["LASTMILE_NOTIFY_RETRY_QUEUE_URL"],
        queues["LASTMILE_NOTIFY_DLQ_URL"],
    )


def write(order_id: str) -> None:
    bootstrap.store()
    outbox_message(order_id, "mer_1", "confirmed", "order.confirmed", "2025-05-14").save()


def retry_queue_bodies(aws: EmbeddedAws, url: str) -> list[dict[str, Any]]:
    answer = aws.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in answer.get("Messages", [])]


@pytest.fixture
def handled() -> list[str]:
    """Order ids of the messages the failing notify function got through."""
    return []


@pytest.fixture
def failing_poller(
    aws: EmbeddedAws, queues: dict[str, str], handled: list[str]
) -> Iterator[StreamPoller]:
    """The notify function failing every batch that holds order `bad`'s message, as when it
    cannot even park: two retries, then the batch's metadata to the DLQ."""
    sqs = aws.client("sqs")

    def notify(event: dict[str, Any]) -> dict[str, Any]:
        for record in event["Records"]:
            if record["dynamodb"]["NewImage"]["order_id"]["S"].startswith("bad"):
                sequence = record["dynamodb"]["SequenceNumber"]
                return {"batchItemFailures": [{"itemIdentifier": sequence}]}
            handled.append(record["dynamodb"]["NewImage"]["order_id"]["S"])
        return {"batchItemFailures": []}

    poller = StreamPoller(
        aws.client("dynamodbstreams"),
        stream_arn(aws.client("dynamodb"), bootstrap.settings().outbox_table),
        notify,
        retry_pause_s=0,
        start_at="LATEST",
        region=REGION,
        max_retries=2,
        on_failure=lambda failure: sqs.send_message(
            QueueUrl=queues["LASTMILE_NOTIFY_DLQ_URL"], MessageBody=json.dumps(failure)
        ),
    ).open()
    yield poller


def test_a_record_failing_past_its_retries_is_dead_lettered_and_the_shard_moves_on(
    aws: EmbeddedAws,
    failing_poller: StreamPoller,
    handled: list[str],
    parking: SqsParking,
    queues: dict[str, str],
) -> None:
    bad = f"bad-{time.time_ns()}"
    write(bad)
    write("good-after")

    for _ in range(3):  # the first attempt and two retries, each failing at `bad`
        failing_poller.poll_once()
    assert failing_poller.dead_lettered == 1 and handled == []
    failing_poller.poll_once()  # from the record after it
    assert handled == ["good-after"]

    redrive = Redrive(parking, DynamoDbStreamRecords(aws.client("dynamodbstreams")), HANDLERS)
    [listed] = redrive.listing(limit=10)["items"]
    assert listed["kind"] == "stream_batch" and listed["records"] == 1
    assert redrive.listing(limit=10)["counts"]["dead"] == 1  # listing leaves it there

    done = redrive.redrive()

    assert (done["stream_batches"], done["stream_messages"], done["remaining"]) == (1, 1, 0)
    parked = retry_queue_bodies(aws, queues["LASTMILE_NOTIFY_RETRY_QUEUE_URL"])
    assert sorted((p["handler"], p["message"]["order_id"], p["attempts"]) for p in parked) == [
        ("fulfilment", bad, 0),
        ("notifications", bad, 0),
    ]


def test_parked_work_past_its_last_attempt_is_dead_lettered_then_redriven_once(
    aws: EmbeddedAws, parking: SqsParking, queues: dict[str, str]
) -> None:
    calls: list[str] = []
    down = True

    def fulfilment(message: dict[str, Any]) -> None:
        calls.append(message["order_id"])
        if down:
            raise ConnectionError("Shopify answered 503")

    schedule = RetrySchedule((0, 0))
    retries = QueuePoller(
        aws.client("sqs"),
        queues["LASTMILE_NOTIFY_RETRY_QUEUE_URL"],
        lambda event: retry_parked(event, {"fulfilment": fulfilment}, parking, schedule),
        wait_s=0,
    )
    first = ParkedWork("fulfilment", {"order_id": "ord_x"}, 1, "ConnectionError", "t", "t")
    parking.park(first, 0)

    while retries.poll_once():
        pass
    assert calls == ["ord_x", "ord_x"]  # attempts 2 and 3 of 3
    assert parking.counts() == {"retrying": 0, "dead": 1}

    down = False
    redrive = Redrive(parking, DynamoDbStreamRecords(aws.client("dynamodbstreams")), HANDLERS)
    assert redrive.redrive()["work"] == 1
    while retries.poll_once():
        pass

    assert calls == ["ord_x"] * 3
    assert parking.counts() == {"retrying": 0, "dead": 0}
