"""The notification log's claims against moto in process: taken once, a retry or a lapsed
lease taken over, an outcome recorded only by the attempt holding the claim."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.errors import ConcurrentUpdate
from chalicelib.notify.messages import Channel, State
from chalicelib.store.notification_log import NotificationLog, notification_key

NOW = datetime(2025, 5, 14, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)
KEY = notification_key("ord_1", "2025-05-14T09:00:00Z#order.confirmed#abcd", Channel.EMAIL)


@pytest.fixture
def log(models_in_process: Callable[[str], Any]) -> NotificationLog:
    models_in_process("notify-log-main")
    return NotificationLog()


def claim(log: NotificationLog, now: datetime = NOW) -> bool:
    return log.claim(
        KEY,
        order_id="ord_1",
        message_type="order.confirmed",
        channel=Channel.EMAIL,
        now=now,
        lease=LEASE,
    )


def test_a_message_is_claimed_once_per_channel(log: NotificationLog) -> None:
    assert claim(log) is True
    assert claim(log, NOW + timedelta(seconds=1)) is False  # held by the first attempt
    assert log.state(KEY) is State.SENDING
    assert log.state(notification_key("ord_1", "other", Channel.EMAIL)) is None


def test_a_lapsed_lease_is_taken_over(log: NotificationLog) -> None:
    claim(log)

    assert claim(log, NOW + LEASE + timedelta(seconds=1)) is True


def test_a_done_message_is_never_claimed_again(log: NotificationLog) -> None:
    claim(log)
    log.finish(KEY, State.SENT, now=NOW, attempts=1, to="grace@example.com", message_id="em-1")

    assert claim(log, NOW + timedelta(days=1)) is False
    [record] = log.for_order("ord_1")
    assert (record.state, record.attempts, record.to, record.message_id) == (
        State.SENT,
        1,
        "grace@example.com",
        "em-1",
    )
    assert (record.channel, record.message_type) == ("email", "order.confirmed")


def test_a_retry_is_claimed_again_and_its_attempts_add_up(log: NotificationLog) -> None:
    claim(log)
    log.finish(KEY, State.RETRY, now=NOW, attempts=3, reason="email 503", vendor_status="503")

    assert claim(log, NOW + timedelta(seconds=1)) is True
    log.finish(KEY, State.SENT, now=NOW, attempts=1, message_id="em-1")

    [record] = log.for_order("ord_1")
    assert (record.state, record.attempts, record.vendor_status) == (State.SENT, 4, "503")


def test_an_outcome_without_the_claim_is_refused(log: NotificationLog) -> None:
    claim(log)
    log.finish(KEY, State.SENT, now=NOW, attempts=1, message_id="em-1")

    with pytest.raises(ConcurrentUpdate):
        log.finish(KEY, State.FAILED, now=NOW, attempts=1, reason="late")
    assert log.state(KEY) is State.SENT


def test_the_records_are_only_the_orders_notifications(log: NotificationLog) -> None:
    claim(log)

    assert log.for_order("ord_2") == []
    assert [r.state for r in log.for_order("ord_1")] == [State.SENDING]
