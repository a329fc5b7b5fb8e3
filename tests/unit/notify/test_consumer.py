"""The stream consumer hands new outbox items over in order and, on the first failure, reports
that record and all after it (partial batch response)."""

from __future__ import annotations

from typing import Any

from chalicelib.notify.consumer import consume
from chalicelib.store.orders import outbox_message


def record(seq: int, order_id: str, event: str = "INSERT") -> dict[str, Any]:
    message = outbox_message(order_id, "mer_1", "confirmed", "order.confirmed", "2025")
    message.sk = f"2025#order.confirmed#{seq}"  # its sequence number, for the tests to read
    image = message.serialize()
    body: dict[str, Any] = {"SequenceNumber": str(seq), "Keys": {"pk": image["pk"]}}
    if event != "REMOVE":
        body["NewImage"] = image
    return {"eventName": event, "dynamodb": body}


class FlakyService:
    """Handles messages, refusing those of the orders it is told are down (until revived)."""

    def __init__(self, down: set[str] | None = None) -> None:
        self.down = down or set()
        self.handled: list[str] = []

    def handle(self, message: dict[str, Any]) -> None:
        if message["order_id"] in self.down:
            raise RuntimeError(f"vendor down for {message['order_id']}")
        if message["sk"] not in self.handled:  # exactly once, as the real service
            self.handled.append(message["sk"])


def test_a_clean_batch_is_handled_in_order_and_reports_nothing() -> None:
    service = FlakyService()
    event = {"Records": [record(1, "a"), record(2, "b"), record(3, "c")]}

    assert consume(event, service.handle) == {"batchItemFailures": []}
    assert [s.rsplit("#", 1)[1] for s in service.handled] == ["1", "2", "3"]


def test_the_first_failure_reports_itself_and_everything_after_it() -> None:
    service = FlakyService(down={"b"})
    event = {"Records": [record(1, "a"), record(2, "b"), record(3, "c"), record(4, "d")]}

    answer = consume(event, service.handle)

    failed = [f["itemIdentifier"] for f in answer["batchItemFailures"]]
    assert failed == ["2", "3", "4"]
    assert [s.rsplit("#", 1)[1] for s in service.handled] == ["1"]  # c and d wait for b


def test_the_retried_batch_completes_once_the_failure_clears() -> None:
    service = FlakyService(down={"b"})
    records = [record(1, "a"), record(2, "b"), record(3, "c")]
    failed = consume({"Records": records}, service.handle)["batchItemFailures"]
    first = min(int(f["itemIdentifier"]) for f in failed)

    service.down.clear()
    redelivered = [r for r in records if int(r["dynamodb"]["SequenceNumber"]) >= first]
    assert consume({"Records": redelivered}, service.handle) == {"batchItemFailures": []}
    assert [s.rsplit("#", 1)[1] for s in service.handled] == ["1", "2", "3"]


def test_only_inserts_are_messages() -> None:
    service = FlakyService()
    event = {"Records": [record(1, "a", "REMOVE"), record(2, "b", "MODIFY"), record(3, "c")]}

    assert consume(event, service.handle) == {"batchItemFailures": []}
    assert [s.rsplit("#", 1)[1] for s in service.handled] == ["3"]


def test_an_empty_event_reports_nothing() -> None:
    assert consume({}, FlakyService().handle) == {"batchItemFailures": []}
