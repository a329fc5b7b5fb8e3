"""Depot policies as Scheduler expressions, and when those fire (in the depot's own time zone)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.dispatch.schedules import is_due, schedules_for
from chalicelib.domain.dispatch import DispatchPolicy


def test_waves_and_rolling_window_become_one_schedule_each() -> None:
    policy = DispatchPolicy(waves=("14:00", "09:05"), rolling_every_minutes=20)
    found = schedules_for("dep_x", "Europe/Paris", policy)
    assert [(s.expression, s.trigger) for s in found] == [
        ("cron(5 9 * * ? *)", "wave"),
        ("cron(0 14 * * ? *)", "wave"),
        ("rate(20 minutes)", "rolling"),
    ]
    assert all(len(s.name) <= 64 and s.timezone == "Europe/Paris" for s in found)
    assert schedules_for("dep_x", "UTC", DispatchPolicy()) == []


def test_a_wave_fires_at_the_depots_local_time_across_daylight_saving() -> None:
    # London is UTC+1 in summer and UTC+0 in winter: 10:30 local is 09:30Z, then 10:30Z.
    summer = datetime(2026, 7, 1, 9, 30, tzinfo=UTC)
    winter = datetime(2026, 12, 1, 10, 30, tzinfo=UTC)
    for moment in (summer, winter):
        just_before = moment - timedelta(seconds=20)
        assert is_due("cron(30 10 * * ? *)", "Europe/London", just_before, moment)
        assert not is_due(
            "cron(30 10 * * ? *)", "Europe/London", moment, moment + timedelta(hours=1)
        )


def test_a_wave_missed_over_midnight_still_fires_once() -> None:
    since = datetime(2026, 3, 1, 22, 0, tzinfo=UTC)
    assert is_due("cron(5 0 * * ? *)", "UTC", since, since + timedelta(hours=3))
    assert not is_due("cron(5 0 * * ? *)", "UTC", since, since + timedelta(hours=2))


def test_a_rate_fires_once_per_period() -> None:
    start = datetime(2026, 3, 1, 12, 0, 1, tzinfo=UTC)
    fired = [
        is_due(
            "rate(15 minutes)",
            "UTC",
            start + timedelta(minutes=m),
            start + timedelta(minutes=m + 1),
        )
        for m in range(60)
    ]
    assert sum(fired) == 4


def test_an_expression_of_another_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        is_due("cron(0 12 ? * MON-FRI *)", "UTC", datetime.now(UTC), datetime.now(UTC))
