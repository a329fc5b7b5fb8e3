"""Faults the embedded AWS stand-in can be told to show: DynamoDB throttling, answered the way
DynamoDB answers it (HTTP 400, ProvisionedThroughputExceededException), and a Lambda function
killed mid-batch, so that the SDK's own retries, the event source's and our error handling are
what a test or a benchmark sees."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moto.dynamodb.responses import DynamoHandler

THROTTLED = "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"


@dataclass(frozen=True)
class ThrottleWindow:
    table: str | None  # None: every table
    until: float  # monotonic clock
    rate: float  # the share of requests refused, 0..1


def _tables_of(body: dict[str, Any]) -> set[str]:
    """The tables a DynamoDB request touches."""
    names = {body["TableName"]} if isinstance(body.get("TableName"), str) else set()
    for entry in body.get("TransactItems", []):
        names |= {op.get("TableName") for op in entry.values() if isinstance(op, dict)}
    names |= set(body.get("RequestItems", {}))
    return {n for n in names if isinstance(n, str)}


class DynamoDbThrottle:
    """While a window is open, refuses that share of the requests on its table (at random) as
    DynamoDB does when a partition is over its throughput. One per process: it wraps moto's
    DynamoDB handler, outside the lock that serialises it, and refused requests never reach it
    (and are not billed: RequestCounter does not see them)."""

    _installed: DynamoDbThrottle | None = None

    def __init__(self, seed: int | None = None) -> None:
        self._windows: list[ThrottleWindow] = []
        self._lock = threading.Lock()
        self._random = random.Random(seed)  # noqa: S311 (which requests to refuse, not secrets)
        self.refused = 0
        self._install()

    def _install(self) -> None:
        if DynamoDbThrottle._installed is None:
            original = DynamoHandler.call_action

            def call_action(handler: DynamoHandler) -> Any:
                active = DynamoDbThrottle._installed
                if active is not None and active._refuses(handler):
                    return active._answer(handler)
                return original(handler)

            # The serialising wrapper (local/aws.py) must still know whether it is in place.
            serialised = getattr(original, "_serialised", False)
            call_action._serialised = serialised  # type: ignore[attr-defined]
            DynamoHandler.call_action = call_action  # type: ignore[method-assign]
        DynamoDbThrottle._installed = self

    def throttle(self, table: str | None, seconds: float, rate: float) -> ThrottleWindow:
        """Refuse `rate` of the requests on `table` (None: all) for the next `seconds`."""
        window = ThrottleWindow(table, time.monotonic() + seconds, rate)
        with self._lock:
            self._windows.append(window)
        return window

    def clear(self) -> None:
        with self._lock:
            self._windows.clear()

    def _refuses(self, handler: DynamoHandler) -> bool:
        now = time.monotonic()
        with self._lock:
            self._windows = [w for w in self._windows if w.until > now]
            if not self._windows:
                return False
            try:
                body = json.loads(handler.body or "{}")
            except (TypeError, ValueError):
                return False
            if not isinstance(body, dict):
                return False
            tables = _tables_of(body)
            rate = max(
                (w.rate for w in self._windows if w.table is None or w.table in tables),
                default=0.0,
            )
            refused = rate > 0 and self._random.random() < rate
            self.refused += refused
            return refused

    @staticmethod
    def _answer(handler: DynamoHandler) -> tuple[int, dict[str, str], str]:
        body = {
            "__type": THROTTLED,
            "message": "The level of configured provisioned throughput for the table was "
            "exceeded. Consider increasing your provisioning level with the UpdateTable API.",
        }
        return 400, {"Content-Type": "application/x-amz-json-1.0"}, json.dumps(body)


class FunctionCrashed(RuntimeError):
    """The function's runtime died mid-invocation (killed: out of memory, a segfault)."""


class CrashSwitch:
    """A Lambda function that dies mid-batch when armed: its next batch of more than `after`
    records is handled as far as the `after`-th record, then the invocation fails as a killed
    runtime does, so the event source reads the whole batch again. Once per arming."""

    def __init__(self) -> None:
        self._after: int | None = None
        self._lock = threading.Lock()
        self.crashed = 0

    def arm(self, after: int) -> None:
        with self._lock:
            self._after = max(0, after)

    def call(self, handler: Callable[[dict[str, Any]], Any], event: dict[str, Any]) -> Any:
        records = event.get("Records") or []
        with self._lock:
            after = self._after
            if after is None or len(records) <= after:
                after = None
            else:
                self._after = None
                self.crashed += 1
        if after is None:
            return handler(event)
        handler({**event, "Records": records[:after]})
        raise FunctionCrashed(f"Runtime exited with error: signal: killed (after {after} records)")
