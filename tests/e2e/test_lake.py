"""The lake over HTTP and the command line: a route driven through the driver and kiosk APIs,
the export run as its schedule would (POST /local/schedules/lake_export), and
`lastmile analytics-sql` reading back, from the runtime's S3 stand-in, what was driven."""

# ruff: noqa: S608 (the SQL is the command's input, as a person types it; the ids are our own)
from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from tests.e2e.conftest import ROOT, Runtime
from tests.e2e.test_analytics import driven

__all__ = ["driven"]


def analytics_sql(runtime: Runtime, *args: str) -> subprocess.CompletedProcess[str]:
    """The command as a person runs it after pasting `make run`'s exports (S3's endpoint)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LASTMILE_"))}
    env |= {"AWS_ENDPOINT_URL_S3": runtime.info["exports"]["AWS_ENDPOINT_URL_S3"]}
    return subprocess.run(
        [sys.executable, "-m", "chalicelib.cli", "analytics-sql", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_driven_route_is_queried_from_the_lake(
    runtime: Runtime, driven: dict[str, Any]
) -> None:
    exported = runtime.admin("POST", "/local/schedules/lake_export", json={})
    assert exported.status_code == 200, exported.text
    assert driven["day"] in exported.json()["result"]["days"]

    depot = driven["depot_id"]
    sql = (
        "SELECT kind, count(*) AS n, min(CAST(day AS VARCHAR)) AS day FROM facts"
        f" WHERE depot_id = '{depot}' GROUP BY kind ORDER BY kind"
    )
    answer = analytics_sql(runtime, sql, "--json")
    assert answer.returncode == 0, answer.stderr
    rows = [json.loads(line) for line in answer.stdout.splitlines()]
    assert {r["kind"]: r["n"] for r in rows} == {
        "delivery": 2,  # the one sent twice counts once
        "failed_attempt": 1,
        "locker_collection": 1,
        "locker_deposit": 1,
        "route_completion": 1,
        "route_departure": 1,
    }
    assert {r["day"] for r in rows} == {driven["day"]}

    # The per-kind views and the table the person reads.
    answer = analytics_sql(
        runtime, f"SELECT subject FROM deliveries WHERE depot_id = '{depot}' ORDER BY subject"
    )
    assert answer.returncode == 0, answer.stderr
    lines = answer.stdout.splitlines()
    assert lines[0].strip() == "subject" and lines[-1] == "(2 rows)"
    assert sorted(line.strip() for line in lines[2:-1]) == sorted(
        [driven["on_time"], driven["early"]]
    )

    # Exported again (the next run): the same rows, not twice as many.
    assert runtime.admin("POST", "/local/schedules/lake_export", json={}).status_code == 200
    again = analytics_sql(
        runtime, f"SELECT count(*) AS n FROM facts WHERE depot_id = '{depot}'", "--json"
    )
    assert [json.loads(line) for line in again.stdout.splitlines()] == [{"n": 7}]

    bad = analytics_sql(runtime, "SELECT nope FROM facts")
    assert bad.returncode == 2 and "nope" in bad.stderr
    missing = analytics_sql(runtime, "SELECT 1", "--bucket", "no-such-lake")
    assert missing.returncode == 2 and "NoSuchBucket" in missing.stderr
