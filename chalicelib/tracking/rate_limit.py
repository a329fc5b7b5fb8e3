"""A fixed-window request counter per client, for the public (unauthenticated) tracking
endpoints: which window a request falls in, and the refusal once it is full."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from chalicelib.domain.errors import DomainError, TooManyAttempts

EXPIRY_SLACK_S = 60  # TTL deletion is lazy; the key already names the window, so this is tidy-up


class RateLimited(TooManyAttempts):
    """Over the limit of this window; `retry_after` seconds until the next one opens."""

    code = "rate_limited"
    retry_after: int

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many requests; try again in {retry_after} s")
        self.retry_after = retry_after


class WindowCounters(Protocol):
    def count(
        self, window_key: str, *, limit: int, expires_at: int, on_full: DomainError
    ) -> int: ...


class FixedWindowLimiter:
    """`limit` requests per `window_s` seconds per key (a client IP), counted in `counters`."""

    def __init__(
        self,
        counters: WindowCounters,
        *,
        scope: str,
        limit: int = 60,
        window_s: int = 60,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._counters = counters
        self._scope = scope
        self._limit = limit
        self._window_s = window_s
        self._clock = clock

    def counter_key(self, key: str, now: float | None = None) -> str:
        window = int((self._clock() if now is None else now) // self._window_s)
        label = datetime.fromtimestamp(window * self._window_s, UTC).strftime("%Y%m%dT%H%M%S")
        return f"RATE#{self._scope}#{key}#{label}"

    def hit(self, key: str) -> int:
        """Count one request for `key`; the count so far in this window. Raises RateLimited
        (and counts nothing) once the window's limit is reached."""
        now = self._clock()
        window_end = (int(now // self._window_s) + 1) * self._window_s
        return self._counters.count(
            self.counter_key(key, now),
            limit=self._limit,
            expires_at=window_end + EXPIRY_SLACK_S,
            on_full=RateLimited(max(1, math.ceil(window_end - now))),
        )
