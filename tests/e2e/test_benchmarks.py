"""The load and fault benchmarks run tiny, each as `lastmile` runs it (its own process with the
local runtime inside): the report has its figures and targets, and nothing was lost. Speed
and cost are printed figures, never asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def bench(tmp_path: Path, *args: str) -> dict[str, Any]:
    out = tmp_path / "report.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LASTMILE_"))}
    done = subprocess.run(
        [sys.executable, "-m", "chalicelib.cli", *args, "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report: dict[str, Any] = json.loads(out.read_text())
    return report


def test_load_bench_runs_a_tiny_day_with_nothing_lost(tmp_path: Path) -> None:
    report = bench(
        tmp_path, "load-bench", "--orders", "30", "--concurrency", "5", "--ping-every", "600"
    )
    figures = report["figures"]
    assert set(figures) >= {
        "intake_p50_ms",
        "intake_p99_ms",
        "errors",
        "orders_lost",
        "messages_lost",
        "messages_duplicated",
        "dynamodb_items_written_per_ping",
        "aws_usd_per_1000_delivered",
    }
    assert all({"value", "target"} <= set(f) for f in figures.values())
    for name in ("errors", "orders_lost", "orders_stuck", "messages_lost", "messages_duplicated"):
        assert figures[name]["value"] == 0, (name, report)
    books = report["accounting"]
    assert books["orders_accepted"] == books["orders_found"] == 30
    # Every order was planned and driven: each delivered, or failed at the door and ready again.
    assert sum(books["order_statuses"].values()) == 30
    assert set(books["order_statuses"]) <= {"delivered", "ready"}
    assert books["messages_expected"] == books["messages_sent"] > 0
    assert report["intake"]["accepted"] == 30 and report["dispatch"]["status"] == "succeeded"
    # The requests were counted where they were made, and priced.
    by_function = report["dynamodb"]["by_function"]
    assert {"api:intake", "api:delivered", "notify", "dispatch_commit"} <= set(by_function)
    assert report["dynamodb"]["per_delivered_order"]["write_units"] > 0
    assert report["lambda_invocations"]["api_requests"]["intake"] == 30
    # Pings sent sparser than phones send them still sample every leg, and are costed at 15 s.
    pings = report["pings"]
    assert 0 < pings["sent"] <= pings["costed"]
    assert report["dynamodb"]["per_ping"]["items_written"] > 0
    cost = report["aws_cost_usd_per_1000_delivered"]
    assert cost["total"] == pytest.approx(sum(v for k, v in cost.items() if k != "total"), abs=1e-3)
    assert report["prices"]["as_of"]


def test_fault_bench_loses_nothing_under_the_faults_it_injects(tmp_path: Path) -> None:
    report = bench(
        tmp_path,
        "fault-bench",
        "--orders",
        "20",
        "--concurrency",
        "4",
        "--minute",
        "0.5",
        "--every",
        "2",
        "--faults",
        "dynamodb_throttling,notify_crash,sendgrid_outage,sendgrid_burst,commit_crash",
    )
    faults = {f["fault"]: f for f in report["faults"]}
    assert set(faults) == {
        "sendgrid_outage",
        "sns_outage",
        "sendgrid_burst",
        "dynamodb_throttling",
        "notify_crash",
        "optimiser_crash",
        "commit_crash",
        "stuck_run",
    }
    assert faults["commit_crash"]["injected"] == 1, "Commit died halfway in the first run"
    assert [r["status"] for r in report["dispatch_runs"]] == ["failed", "succeeded"]
    assert all(f["available"] for f in faults.values()), "every fault has its switch"
    assert isinstance(report["figures"]["redriven"]["value"], int)
    for name in ("orders_lost", "messages_lost", "messages_duplicated"):
        assert report["figures"][name]["value"] == 0, (name, report)
    books = report["accounting"]
    assert books["orders_found"] == 20 and books["order_statuses"] == {"delivered": 20}
    assert books["messages_expected"] == books["messages_sent"] > 0
