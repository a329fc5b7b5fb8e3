"""EventBridge Scheduler for the local runtime: moto stores the depots' schedules but fires
nothing, so this loop reads them and, when one is due, invokes its target function (through
the Lambda API, as Scheduler does) with the schedule's input."""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime
from typing import Any

from chalicelib.dispatch.schedules import is_due

log = logging.getLogger(__name__)


class LocalScheduler:
    def __init__(self, scheduler: Any, lambda_client: Any, group: str, interval_s: float = 20):
        self._scheduler = scheduler
        self._lambda = lambda_client
        self._group = group
        self._interval = interval_s
        self._since = datetime.now(UTC)
        self._stop = threading.Event()
        self.fired: list[tuple[str, dict[str, Any]]] = []

    def start(self) -> LocalScheduler:
        threading.Thread(target=self._loop, name="local-scheduler", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.check()
            except Exception:  # the loop outlives one bad tick; the failure is logged whole
                log.exception("local scheduler tick failed")

    def check(self, now: datetime | None = None) -> list[str]:
        """Fire every schedule due since the last check; returns their names."""
        now = now or datetime.now(UTC)
        since, self._since = self._since, now
        fired = []
        pages = self._scheduler.get_paginator("list_schedules").paginate(GroupName=self._group)
        for summary in (s for page in pages for s in page["Schedules"]):
            schedule = self._scheduler.get_schedule(Name=summary["Name"], GroupName=self._group)
            if schedule.get("State", "ENABLED") != "ENABLED":
                continue
            zone = schedule.get("ScheduleExpressionTimezone") or "UTC"
            if not is_due(schedule["ScheduleExpression"], zone, since, now):
                continue
            target = schedule["Target"]
            payload = json.loads(target.get("Input") or "{}")
            self._lambda.invoke(FunctionName=target["Arn"], Payload=json.dumps(payload).encode())
            self.fired.append((summary["Name"], payload))
            fired.append(summary["Name"])
        return fired
