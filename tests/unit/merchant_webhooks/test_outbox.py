"""Customer notifications and merchant webhooks consume the same outbox record."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.merchant_webhooks.outbox import each
from chalicelib.notify.consumer import consume
from chalicelib.store.orders import outbox_message


class Recorder:
    def __init__(self, fail: Exception | None = None) -> None:
        self.seen: list[str] = []
        self.fail = fail

    def __call__(self, message: dict[str, Any]) -> None:
        self.seen.append(message["sk"])
        if self.fail:
            raise self.fail


def record(seq: str, sk: str) -> dict[str, Any]:
    message = outbox_message("o", "mer_1", "confirmed", "order.confirmed", "2025")
    message.sk = sk  # a short name the tests can follow
    return {
        "eventName": "INSERT",
        "dynamodb": {"SequenceNumber": seq, "NewImage": message.serialize()},
    }


def test_every_handler_gets_every_message() -> None:
    notify, hooks = Recorder(), Recorder()

    answer = consume({"Records": [record("1", "a"), record("2", "b")]}, each(notify, hooks))

    assert answer == {"batchItemFailures": []}
    assert notify.seen == hooks.seen == ["a", "b"]


def test_a_failing_notification_does_not_hold_back_the_webhooks_and_the_record_is_retried() -> None:
    notify, hooks = Recorder(fail=RuntimeError("sendgrid down")), Recorder()

    answer = consume({"Records": [record("1", "a"), record("2", "b")]}, each(notify, hooks))

    assert hooks.seen == ["a"]  # given the message although notify raised first
    assert answer == {"batchItemFailures": [{"itemIdentifier": "1"}, {"itemIdentifier": "2"}]}


def test_the_first_error_is_raised_after_all_handlers_ran() -> None:
    first, second = Recorder(fail=ValueError("one")), Recorder(fail=KeyError("two"))
    with pytest.raises(ValueError, match="one"):
        each(first, second)({"sk": "a"})
    assert second.seen == ["a"]
