"""A fixed-window request counter per client in DynamoDB, for the public (unauthenticated)
tracking endpoints: one atomic conditional ADD per request, items expire by TTL."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.domain.errors import TooManyAttempts

COUNTER_SK = "RATE"
EXPIRY_SLACK_S = 60  # TTL deletion is lazy; the key already names the window, so this is tidy-up


class RateLimited(TooManyAttempts):
    """Over the limit of this window; `retry_after` seconds until the next one opens."""

    code = "rate_limited"
    retry_after: int

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many requests; try again in {retry_after} s")
        self.retry_after = retry_after


class FixedWindowLimiter:
    """`limit` requests per `window_s` seconds per key (a client IP), counted in `table`."""

    def __init__(
        self,
        client: Any,
        table: str,
        *,
        scope: str,
        limit: int = 60,
        window_s: int = 60,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._table = table
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
        try:
            result = self._client.update_item(
                TableName=self._table,
                Key={"pk": {"S": self.counter_key(key, now)}, "sk": {"S": COUNTER_SK}},
                UpdateExpression="ADD hits :one SET expires_at = if_not_exists(expires_at, :exp)",
                ConditionExpression="attribute_not_exists(hits) OR hits < :limit",
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":limit": {"N": str(self._limit)},
                    ":exp": {"N": str(window_end + EXPIRY_SLACK_S)},
                },
                ReturnValues="UPDATED_NEW",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise RateLimited(max(1, math.ceil(window_end - now))) from exc
            raise
        return int(result["Attributes"]["hits"]["N"])
