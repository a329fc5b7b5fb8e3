"""The demo fleet's shift follows the clock: seeded at any hour (late evening, just before
midnight, on the night the clocks change) it leaves the README's Standard Webhooks window and
`make demo`'s order a future the planner can use, and `make demo` moves a shift a long-running
`make run` has outlived."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chalicelib.dispatch.free_time import free_time
from chalicelib.local.demo_shift import ENOUGH_LEFT, demo_shift, shift_moved_on
from chalicelib.local.seed import demo_fleet

LONDON = "Europe/London"
HORIZON = timedelta(hours=36)  # the demo depot's dispatch policy


def at(text: str, zone: str = LONDON) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


@pytest.mark.parametrize(
    "now",
    [
        at("2026-12-01T15:00"),  # the review's case: started at 15:00, used after 18:00
        at("2026-12-01T18:05"),
        at("2026-12-01T23:59"),  # over midnight
        at("2026-06-30T22:30"),  # summer time (+01:00)
        at("2026-03-29T00:40"),  # the clocks go forward at 01:00 UTC this night
        at("2026-10-25T01:30"),  # and back: 01:30 comes twice
    ],
)
def test_a_fleet_seeded_at_any_hour_can_plan_what_comes_next(now: datetime) -> None:
    fleet = demo_fleet(LONDON, now)
    for vehicle in fleet:
        start, end = (datetime.fromisoformat(t) for t in (vehicle.shift_start, vehicle.shift_end))
        assert start <= now and end - now >= timedelta(hours=10), (vehicle, now)
        assert end - start == timedelta(hours=12)  # real hours, whatever the offsets
        # The planner's view: the vehicle is free from now for the rest of its shift.
        free = free_time(vehicle, [], now, now + HORIZON)
        assert free is not None and free.start == now and free.end == end
    # The README's Standard Webhooks window: the shift's last two hours, still ahead.
    end = datetime.fromisoformat(fleet[0].shift_end)
    assert end - timedelta(hours=2) > now
    # A fleet this fresh is left as it is by `make demo`.
    as_read = [_as_read(v.shift_start, v.shift_end) for v in fleet]
    assert shift_moved_on(as_read, LONDON, now) is None


def test_the_shift_starts_on_the_hour_before_in_the_depots_own_zone() -> None:
    late = at("2026-12-01T23:40")
    assert demo_shift(LONDON, late) == ("2026-12-01T22:00:00+00:00", "2026-12-02T10:00:00+00:00")
    # Across the spring change: twelve real hours, the end in summer time.
    assert demo_shift(LONDON, at("2026-03-29T00:40")) == (
        "2026-03-28T23:00:00+00:00",
        "2026-03-29T12:00:00+01:00",
    )
    # A half-hour zone: the top of the local hour, not of the UTC one.
    kolkata = datetime(2026, 12, 1, 20, 10, tzinfo=UTC)  # 01:40 on the 2nd in Kolkata
    assert demo_shift("Asia/Kolkata", kolkata) == (
        "2026-12-02T00:00:00+05:30",
        "2026-12-02T12:00:00+05:30",
    )


def _as_read(start: str, end: str, **more: object) -> dict[str, object]:
    """A vehicle as GET /v1/depots/{id}/vehicles answers it."""
    return {
        "vehicle_id": "van-1",
        "profile": "van",
        "capacity": {"parcels": 120, "weight_kg": 800.0},
        "shift": {"start": start, "end": end, "breaks": []},
        "skills": [],
        "max_trips": 1,
        "reload_minutes": 10,
        **more,
    }


def test_make_demo_moves_a_shift_the_runtime_has_outlived() -> None:
    seeded = at("2026-12-01T15:00")
    start, end = demo_shift(LONDON, seeded)  # 14:00 to 02:00
    morning = at("2026-12-02T09:15")
    old = _as_read(start, end, vehicle_id="van-2", skills=["fridge"])
    old["shift"] = {**old["shift"], "breaks": [{"earliest": start, "latest": end, "minutes": 45}]}
    [moved] = shift_moved_on([old], LONDON, morning) or []
    assert moved["shift"] == {
        "start": "2026-12-02T08:00:00+00:00",
        "end": "2026-12-02T20:00:00+00:00",
    }
    # Everything else of the vehicle as it was (the old shift's breaks do not carry over).
    assert {k: v for k, v in moved.items() if k != "shift"} == {
        k: v for k, v in old.items() if k != "shift"
    }
    # Under two hours left of every shift is as good as over; one vehicle with enough is not.
    closing = at("2026-12-02T00:30")
    assert datetime.fromisoformat(end) - closing < ENOUGH_LEFT
    assert shift_moved_on([_as_read(start, end)], LONDON, closing) is not None
    later = demo_shift(LONDON, at("2026-12-01T20:00"))
    fleet = [_as_read(start, end), _as_read(*later, vehicle_id="van-2")]
    assert shift_moved_on(fleet, LONDON, closing) is None
    assert shift_moved_on([], LONDON, morning) is None
