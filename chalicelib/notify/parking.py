"""Outbox work parked after a failure: one handler's part of one message, its attempts so far
and its retry schedule, so each handler of each message is retried (and dead-lettered) on its
own, holding back no other handler, message or tenant."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from chalicelib.domain.times import utc_now

logger = Logger(child=True)

Handler = Callable[[dict[str, Any]], Any]

# The outbox's handlers by name, as jobs.notify builds them: the names travel in parked work,
# so a rename must leave the old name served until its parked work has drained.
OUTBOX_HANDLERS = ("notifications", "webhooks", "fulfilment", "billing", "carriers")

MAX_SQS_DELAY_S = 900  # SQS holds a message back at most 15 minutes
_ERROR_CHARS = 500  # of a failure's text kept with the work (vendor answers can be long)


class Unparkable(ValueError):
    """A queue message that is not parked work (hand-made, or from a newer version)."""


@dataclass(frozen=True)
class RetrySchedule:
    """Seconds to wait before each retry: attempt 1 is the stream's, attempt n+1 follows
    `delays_s[n-1]` after attempt n failed; after the last, the work is dead-lettered."""

    delays_s: tuple[int, ...]

    def __post_init__(self) -> None:
        if not self.delays_s or any(not 0 <= d <= MAX_SQS_DELAY_S for d in self.delays_s):
            raise ValueError(f"retry delays must be 0..{MAX_SQS_DELAY_S} s, at least one")

    @classmethod
    def parse(cls, text: str) -> RetrySchedule:
        """From `"30,60,120"` (the LASTMILE_NOTIFY_RETRY_DELAYS_S setting)."""
        return cls(tuple(int(part) for part in text.split(",") if part.strip()))

    @property
    def max_attempts(self) -> int:
        return len(self.delays_s) + 1

    def delay_after(self, attempt: int) -> int | None:
        """The wait before the attempt after `attempt`; None when `attempt` was the last."""
        return self.delays_s[attempt - 1] if 1 <= attempt <= len(self.delays_s) else None


@dataclass(frozen=True)
class ParkedWork:
    handler: str  # one of OUTBOX_HANDLERS
    message: dict[str, Any]  # the outbox message, as the stream gave it
    attempts: int  # made so far
    error: str  # the last attempt's failure
    first_failed_at: str
    last_failed_at: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), default=str)

    @classmethod
    def from_json(cls, text: str) -> ParkedWork:
        try:
            data = json.loads(text)
            return cls(
                handler=str(data["handler"]),
                message=dict(data["message"]),
                attempts=int(data["attempts"]),
                error=str(data["error"]),
                first_failed_at=str(data["first_failed_at"]),
                last_failed_at=str(data["last_failed_at"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise Unparkable(f"not parked work: {exc}") from exc

    def failed_again(self, error: BaseException) -> ParkedWork:
        return ParkedWork(
            self.handler,
            self.message,
            self.attempts + 1,
            describe(error),
            self.first_failed_at,
            utc_now(),
        )

    def fresh(self) -> ParkedWork:
        """The same work with its attempts forgotten (put back by an operator)."""
        return ParkedWork(
            self.handler, self.message, 0, self.error, self.first_failed_at, self.last_failed_at
        )

    @property
    def label(self) -> dict[str, Any]:
        """What identifies it in logs and listings: never the message's content."""
        return {
            "handler": self.handler,
            "order_id": self.message.get("order_id"),
            "type": self.message.get("type"),
            "attempts": self.attempts,
        }


class Parking(Protocol):
    """Where parked work waits: a retry queue with delays and a dead-letter queue."""

    def park(self, work: ParkedWork, delay_s: int) -> None: ...

    def dead_letter(self, work: ParkedWork) -> None: ...


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:_ERROR_CHARS]


def first_failure(handler: str, message: dict[str, Any], error: BaseException) -> ParkedWork:
    at = utc_now()
    return ParkedWork(handler, message, 1, describe(error), at, at)


def run_each(handlers: Mapping[str, Handler], message: dict[str, Any]) -> dict[str, Exception]:
    """Give the message to every handler, even after one raised; what each failure was, by
    handler. Every handler is idempotent per message (claims and conditional puts), since
    parked work and a redriven stream batch bring a message to a handler again."""
    failures: dict[str, Exception] = {}
    for name, handler in handlers.items():
        try:
            handler(message)
        except Exception as exc:  # parked by the caller, with its retry schedule
            logger.exception(
                "outbox handler failed; its work is parked",
                handler=name,
                order_id=message.get("order_id"),
                type=message.get("type"),
                error=describe(exc),
            )
            failures[name] = exc
    return failures


def after_failure(parking: Parking, schedule: RetrySchedule, work: ParkedWork) -> str:
    """Park failed work for its next attempt, or dead-letter it when its attempts are used up;
    which of the two ("parked", "dead_lettered")."""
    delay = schedule.delay_after(work.attempts)
    if delay is None:
        parking.dead_letter(work)
        logger.error("outbox work dead-lettered after its last attempt", **work.label)
        return "dead_lettered"
    parking.park(work, delay)
    return "parked"
