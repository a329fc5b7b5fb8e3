"""A depot's dispatch policy as EventBridge Scheduler schedules (one per wave, one for the rolling
window), each invoking the dispatch_tick function with {depot_id, trigger}; and when such a
schedule is due, for the local runtime that evaluates them itself."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.domain.dispatch import DispatchPolicy

CRON = re.compile(r"^cron\((\d{1,2}) (\d{1,2}) \* \* \? \*\)$")
RATE = re.compile(r"^rate\((\d+) minutes?\)$")


@dataclass(frozen=True)
class Schedule:
    name: str
    expression: str
    timezone: str
    depot_id: str
    trigger: str  # wave | rolling


def _prefix(depot_id: str) -> str:
    # Schedule names stop at 64 characters; depot ids may be 64 long themselves.
    return "dispatch-" + hashlib.sha256(depot_id.encode()).hexdigest()[:16] + "-"


def schedules_for(depot_id: str, timezone: str, policy: DispatchPolicy) -> list[Schedule]:
    """What the policy asks of EventBridge Scheduler (times in the depot's own zone)."""
    wanted = []
    for wave in sorted(set(policy.waves)):
        hour, minute = (int(x) for x in wave.split(":"))
        wanted.append(
            Schedule(
                _prefix(depot_id) + f"wave-{hour:02d}{minute:02d}",
                f"cron({minute} {hour} * * ? *)",
                timezone,
                depot_id,
                "wave",
            )
        )
    if policy.rolling_every_minutes:
        wanted.append(
            Schedule(
                _prefix(depot_id) + "rolling",
                f"rate({policy.rolling_every_minutes} minutes)",
                timezone,
                depot_id,
                "rolling",
            )
        )
    return wanted


class DepotSchedules:
    """Keeps a depot's schedules in a schedule group equal to its policy."""

    def __init__(self, client: Any, group: str, target_arn: str, role_arn: str) -> None:
        self._client = client
        self._group = group
        self._target_arn = target_arn
        self._role_arn = role_arn

    def sync(self, depot_id: str, timezone: str, policy: DispatchPolicy) -> list[str]:
        wanted = {s.name: s for s in schedules_for(depot_id, timezone, policy)}
        existing = {
            s["Name"]
            for page in self._client.get_paginator("list_schedules").paginate(
                GroupName=self._group, NamePrefix=_prefix(depot_id)
            )
            for s in page["Schedules"]
        }
        for name in existing - set(wanted):
            self._client.delete_schedule(Name=name, GroupName=self._group)
        for name, schedule in wanted.items():
            params = {
                "Name": name,
                "GroupName": self._group,
                "ScheduleExpression": schedule.expression,
                "ScheduleExpressionTimezone": schedule.timezone,
                "FlexibleTimeWindow": {"Mode": "OFF"},
                "Description": f"dispatch {schedule.trigger} of depot {depot_id}",
                "Target": {
                    "Arn": self._target_arn,
                    "RoleArn": self._role_arn,
                    "Input": json.dumps({"depot_id": depot_id, "trigger": schedule.trigger}),
                    "RetryPolicy": {"MaximumRetryAttempts": 3},
                },
            }
            if name in existing:
                self._client.update_schedule(**params)
            else:
                self._client.create_schedule(**params)
        return sorted(wanted)


def is_due(expression: str, timezone: str, since: datetime, now: datetime) -> bool:
    """Whether a schedule of the shapes written above fires in (since, now]. A rate fires every
    N minutes counted from the epoch, which is how often, not exactly when, AWS fires it."""
    if match := CRON.match(expression):
        minute, hour = int(match.group(1)), int(match.group(2))
        zone = ZoneInfo(timezone)
        local_since, local_now = since.astimezone(zone), now.astimezone(zone)
        day = local_since.date()
        while day <= local_now.date():
            fire = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
            if local_since < fire <= local_now:
                return True
            day += timedelta(days=1)
        return False
    if match := RATE.match(expression):
        period = int(match.group(1)) * 60
        return int(now.timestamp()) // period > int(since.timestamp()) // period
    raise ValueError(f"unsupported schedule expression {expression!r}")
