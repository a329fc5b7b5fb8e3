"""The retry schedule of a webhook delivery that keeps failing."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.merchant_webhooks.backoff import next_attempt, schedule

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def test_waits_grow_from_30_seconds_and_stop_within_24_hours() -> None:
    attempts = schedule(T0)

    waits = [b - a for a, b in itertools.pairwise(attempts)]
    assert waits == [
        timedelta(seconds=30),
        timedelta(minutes=2),
        timedelta(minutes=10),
        timedelta(minutes=30),
        timedelta(hours=1),
        timedelta(hours=2),
        timedelta(hours=4),
        timedelta(hours=8),
        timedelta(hours=8),
    ]
    assert attempts[-1] - T0 == timedelta(hours=23, minutes=42, seconds=30)


def test_no_retry_past_24_hours_after_the_first_attempt() -> None:
    last = T0 + timedelta(hours=23, minutes=42, seconds=30)
    assert next_attempt(T0, 10, last) is None
    assert next_attempt(T0, 1, T0) == T0 + timedelta(seconds=30)


def test_the_wait_counts_from_the_last_attempt_not_the_due_time() -> None:
    late = T0 + timedelta(minutes=5)  # the schedule ran late
    assert next_attempt(T0, 2, late) == late + timedelta(minutes=2)


def test_zero_attempts_is_a_mistake() -> None:
    with pytest.raises(ValueError):
        next_attempt(T0, 0, T0)
