"""The per-client fixed-window counter, against moto in process (no network)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.store.rate_limits import RateWindows
from chalicelib.tracking.rate_limit import FixedWindowLimiter, RateLimited
from tests.unit.tracking.conftest import TABLE

START = 1_750_000_020.0  # 2025-06-15T15:07:00Z, the start of a minute


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_sixty_a_minute_then_429_until_the_next_minute(dynamodb: Any) -> None:
    clock = Clock(START + 15)
    limiter = FixedWindowLimiter(RateWindows(), scope="track", limit=60, clock=clock)
    assert [limiter.hit("203.0.113.9") for _ in range(60)] == list(range(1, 61))
    with pytest.raises(RateLimited) as refused:
        limiter.hit("203.0.113.9")
    assert refused.value.retry_after == 45
    clock.now = START + 59.5
    with pytest.raises(RateLimited) as refused:
        limiter.hit("203.0.113.9")
    assert refused.value.retry_after == 1
    assert limiter.hit("198.51.100.7") == 1, "another client has its own count"
    clock.now = START + 60
    assert limiter.hit("203.0.113.9") == 1, "a new minute starts a new count"


def test_the_counter_is_one_item_per_client_and_minute_that_expires(dynamodb: Any) -> None:
    limiter = FixedWindowLimiter(RateWindows(), scope="track", limit=3, clock=Clock(START + 5))
    assert [limiter.hit("203.0.113.9") for _ in range(3)] == [1, 2, 3]
    for _ in range(2):
        with pytest.raises(RateLimited):
            limiter.hit("203.0.113.9")
    pk = "RATE#track#203.0.113.9#20250615T150700"
    assert limiter.counter_key("203.0.113.9") == pk
    item = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": pk}, "sk": {"S": "RATE"}})["Item"]
    assert item["hits"] == {"N": "3"}, "refused requests are not counted"
    assert int(item["expires_at"]["N"]) == int(START) + 60 + 60
