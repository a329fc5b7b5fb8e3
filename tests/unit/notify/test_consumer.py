"""The outbox's consumers: the stream's gives each new item to every handler, in order, and
parks a failing handler's work alone; the retry queue's gives parked work to its own handler
only, parking it again with backoff until its attempts are used up, then dead-letters it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.notify.consumer import consume
from chalicelib.notify.parked_consumer import retry_parked
from chalicelib.notify.parking import ParkedWork, RetrySchedule
from chalicelib.store.orders import outbox_message

SCHEDULE = RetrySchedule((30, 120))  # three attempts: the stream's, then two retries


def record(seq: int, order_id: str, event: str = "INSERT") -> dict[str, Any]:
    message = outbox_message(order_id, "mer_1", "confirmed", "order.confirmed", "2025")
    message.sk = f"2025#order.confirmed#{seq}"  # its sequence number, for the tests to read
    image = message.serialize()
    body: dict[str, Any] = {"SequenceNumber": str(seq), "Keys": {"pk": image["pk"]}}
    if event != "REMOVE":
        body["NewImage"] = image
    return {"eventName": event, "dynamodb": body}


class FlakyHandler:
    """Handles messages, refusing those of the orders it is told are down (until revived)."""

    def __init__(self, down: set[str] | None = None) -> None:
        self.down = down or set()
        self.calls: list[str] = []  # every order id it was given, done or not
        self.handled: list[str] = []

    def __call__(self, message: dict[str, Any]) -> None:
        self.calls.append(message["order_id"])
        if message["order_id"] in self.down:
            raise RuntimeError(f"vendor down for {message['order_id']}")
        if message["sk"] not in self.handled:  # exactly once, as the real handlers
            self.handled.append(message["sk"])


class RecordingParking:
    """Parked and dead-lettered work, in order; can be told to fail as SQS would."""

    def __init__(self) -> None:
        self.parked: list[tuple[ParkedWork, int]] = []
        self.dead: list[ParkedWork] = []
        self.down = False

    def park(self, work: ParkedWork, delay_s: int) -> None:
        if self.down:
            raise ConnectionError("SQS unreachable")
        self.parked.append((work, delay_s))

    def dead_letter(self, work: ParkedWork) -> None:
        if self.down:
            raise ConnectionError("SQS unreachable")
        self.dead.append(work)


def sqs_event(*works: ParkedWork) -> dict[str, Any]:
    return {"Records": [{"messageId": f"m{n}", "body": w.to_json()} for n, w in enumerate(works)]}


def seqs(handler: FlakyHandler) -> list[str]:
    return [s.rsplit("#", 1)[1] for s in handler.handled]


def test_a_clean_batch_is_handled_in_order_by_every_handler_and_parks_nothing() -> None:
    notifications, fulfilment = FlakyHandler(), FlakyHandler()
    parking = RecordingParking()
    event = {"Records": [record(1, "a"), record(2, "b"), record(3, "c")]}

    answer = consume(
        event, {"notifications": notifications, "fulfilment": fulfilment}, parking, SCHEDULE
    )

    assert answer == {"batchItemFailures": []}
    assert seqs(notifications) == seqs(fulfilment) == ["1", "2", "3"]
    assert parking.parked == [] and parking.dead == []


def test_a_failing_handler_parks_its_own_work_and_holds_back_no_record_or_handler() -> None:
    notifications, fulfilment = FlakyHandler(), FlakyHandler(down={"b"})
    parking = RecordingParking()
    event = {"Records": [record(1, "a"), record(2, "b"), record(3, "c")]}

    answer = consume(
        event, {"notifications": notifications, "fulfilment": fulfilment}, parking, SCHEDULE
    )

    assert answer == {"batchItemFailures": []}  # the shard moves on
    assert seqs(notifications) == ["1", "2", "3"]  # b's customer is told all the same
    assert seqs(fulfilment) == ["1", "3"]  # c's fulfilment is not held back by b's
    [(work, delay)] = parking.parked
    assert (work.handler, work.message["order_id"], work.attempts, delay) == (
        "fulfilment",
        "b",
        1,
        30,
    )
    assert work.error == "RuntimeError: vendor down for b"


def test_parked_work_is_retried_by_its_own_handler_only() -> None:
    notifications, fulfilment = FlakyHandler(), FlakyHandler(down={"b"})
    handlers = {"notifications": notifications, "fulfilment": fulfilment}
    parking = RecordingParking()
    consume({"Records": [record(2, "b")]}, handlers, parking, SCHEDULE)
    [(work, _)] = parking.parked
    fulfilment.down.clear()

    assert retry_parked(sqs_event(work), handlers, parking, SCHEDULE) == {"batchItemFailures": []}

    assert notifications.calls == ["b"]  # not run again: its part was done
    assert fulfilment.calls == ["b", "b"] and seqs(fulfilment) == ["2"]
    assert len(parking.parked) == 1 and parking.dead == []  # nothing parked again


def test_attempts_are_bounded_backing_off_then_dead_lettered() -> None:
    fulfilment = FlakyHandler(down={"b"})
    handlers = {"fulfilment": fulfilment}
    parking = RecordingParking()
    consume({"Records": [record(2, "b")]}, handlers, parking, SCHEDULE)

    for _ in range(5):  # the queue gives each parked piece back; more often than allowed
        if not parking.parked:
            break
        work, _ = parking.parked.pop(0)
        retry_parked(sqs_event(work), handlers, parking, SCHEDULE)

    assert fulfilment.calls == ["b"] * SCHEDULE.max_attempts  # 3, not 5
    [dead] = parking.dead
    assert (dead.handler, dead.attempts) == ("fulfilment", 3)
    assert parking.parked == []


def test_the_waits_follow_the_schedule() -> None:
    fulfilment = FlakyHandler(down={"b"})
    parking = RecordingParking()
    consume({"Records": [record(2, "b")]}, {"fulfilment": fulfilment}, parking, SCHEDULE)
    work, first = parking.parked[0]
    retry_parked(sqs_event(work), {"fulfilment": fulfilment}, parking, SCHEDULE)

    assert [(w.attempts, d) for w, d in parking.parked] == [(1, first), (2, 120)]
    assert first == 30


def test_when_parking_fails_the_record_and_every_later_one_go_back_to_the_stream() -> None:
    notifications = FlakyHandler(down={"b"})
    parking = RecordingParking()
    parking.down = True
    event = {"Records": [record(1, "a"), record(2, "b"), record(3, "c"), record(4, "d")]}

    answer = consume(event, {"notifications": notifications}, parking, SCHEDULE)

    assert [f["itemIdentifier"] for f in answer["batchItemFailures"]] == ["2", "3", "4"]
    assert seqs(notifications) == ["1"]  # c and d wait for b, in order


def test_parked_work_whose_next_step_cannot_be_written_comes_back_from_the_queue() -> None:
    fulfilment = FlakyHandler(down={"b"})
    parking = RecordingParking()
    consume({"Records": [record(2, "b")]}, {"fulfilment": fulfilment}, parking, SCHEDULE)
    work, _ = parking.parked[0]
    parking.down = True

    answer = retry_parked(sqs_event(work), {"fulfilment": fulfilment}, parking, SCHEDULE)

    assert answer == {"batchItemFailures": [{"itemIdentifier": "m0"}]}


def test_work_for_an_unknown_handler_is_dead_lettered_at_once_and_junk_is_reported() -> None:
    parking = RecordingParking()
    consume({"Records": [record(2, "b")]}, {"gone": FlakyHandler(down={"b"})}, parking, SCHEDULE)
    work, _ = parking.parked[0]
    junk = {"messageId": "junk", "body": json.dumps({"hello": "world"})}

    answer = retry_parked({"Records": [sqs_event(work)["Records"][0], junk]}, {}, parking, SCHEDULE)

    assert answer == {"batchItemFailures": [{"itemIdentifier": "junk"}]}  # to the DLQ by SQS
    [dead] = parking.dead
    assert dead.handler == "gone" and "UnknownHandler" in dead.error


def test_only_inserts_are_messages() -> None:
    handler = FlakyHandler()
    event = {"Records": [record(1, "a", "REMOVE"), record(2, "b", "MODIFY"), record(3, "c")]}

    assert consume(event, {"n": handler}, RecordingParking(), SCHEDULE) == {"batchItemFailures": []}
    assert seqs(handler) == ["3"]


def test_an_empty_event_reports_nothing() -> None:
    assert consume({}, {"n": FlakyHandler()}, RecordingParking(), SCHEDULE) == {
        "batchItemFailures": []
    }


def test_a_schedule_is_read_from_its_setting_and_bounded_by_what_sqs_can_delay() -> None:
    schedule = RetrySchedule.parse("1, 2,900")
    assert schedule.delays_s == (1, 2, 900) and schedule.max_attempts == 4
    assert [schedule.delay_after(n) for n in (1, 2, 3, 4)] == [1, 2, 900, None]
    with pytest.raises(ValueError):
        RetrySchedule.parse("60,901")
    with pytest.raises(ValueError):
        RetrySchedule.parse("")
