"""When a failed webhook delivery is tried again, and when it is given up (abandoned)."""

from __future__ import annotations

from datetime import datetime, timedelta

# Waits after the 1st, 2nd, ... failed attempt; the last one repeats until the window closes.
DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=4),
    timedelta(hours=8),
)
WINDOW = timedelta(hours=24)  # no attempt later than this after the first one


def next_attempt(
    first_attempt: datetime, failed_attempts: int, last_attempt: datetime
) -> datetime | None:
    """When to try again after `failed_attempts` failures (the last at `last_attempt`); None
    when that would fall outside the window: the delivery is abandoned."""
    if failed_attempts < 1:
        raise ValueError("failed_attempts counts the attempts made, at least 1")
    due = last_attempt + DELAYS[min(failed_attempts, len(DELAYS)) - 1]
    return due if due <= first_attempt + WINDOW else None


def schedule(first_attempt: datetime) -> list[datetime]:
    """Every attempt a delivery that always fails gets, the first included."""
    attempts = [first_attempt]
    while (due := next_attempt(first_attempt, len(attempts), attempts[-1])) is not None:
        attempts.append(due)
    return attempts
