"""The demo fleet's shift, set from the clock rather than a fixed day shift: a `make run` started
at any hour has its fleet on shift for what is sent to it, and `make demo` moves the shift on
when a runtime left running has outlived it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

SHIFT = timedelta(hours=12)
BEFORE = timedelta(hours=1)  # begun an hour ago: what is ready now is already in it
# Less than this left of every vehicle's shift and a new order cannot be planned today (the
# demo's fixed shift used to move to the next day at the same mark).
ENOUGH_LEFT = timedelta(hours=2)


def demo_shift(timezone: str, now: datetime) -> tuple[str, str]:
    """Twelve hours from the hour before `now` (the top of the depot's local hour), as ISO 8601
    with the depot's offset. Counted in UTC, so a shift over midnight or a clock change is
    twelve real hours."""
    zone = ZoneInfo(timezone)
    top = now.astimezone(zone).replace(minute=0, second=0, microsecond=0)
    start = top.astimezone(UTC) - BEFORE
    return start.astimezone(zone).isoformat(), (start + SHIFT).astimezone(zone).isoformat()


def shift_moved_on(
    vehicles: list[dict[str, Any]], timezone: str, now: datetime
) -> list[dict[str, Any]] | None:
    """The fleet as `GET /v1/depots/{id}/vehicles` answers it with every shift moved to
    `demo_shift(now)` when no vehicle has ENOUGH_LEFT of its own; None when one has (nothing
    to change). A moved shift keeps no breaks: theirs were times of the old one."""
    if not vehicles or any(
        datetime.fromisoformat(v["shift"]["end"]) - now >= ENOUGH_LEFT for v in vehicles
    ):
        return None
    start, end = demo_shift(timezone, now)
    return [{**v, "shift": {"start": start, "end": end}} for v in vehicles]
