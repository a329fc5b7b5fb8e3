"""`lastmile ops ...` against a running local runtime: tables by default, JSON with --json,
lists followed through their cursors, the URL and key from flags, the environment or a profile."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ADMIN_KEY, ROOT, Runtime
from tests.e2e.test_driver_events import dispatched


def lastmile(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LASTMILE_")}
    return subprocess.run(
        [sys.executable, "-m", "chalicelib.cli", *args],
        cwd=ROOT,
        env=clean | (env or {}),
        capture_output=True,
        text=True,
        timeout=60,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def planned(runtime: Runtime) -> dict[str, Any]:
    return dispatched(runtime, vehicles=1, orders=3)


@pytest.fixture(scope="module")
def operator(runtime: Runtime) -> dict[str, str]:
    return {"LASTMILE_URL": runtime.base_url, "LASTMILE_KEY": ADMIN_KEY}


def test_help_promises_only_commands_that_run() -> None:
    text = ok(lastmile("ops", "--help"))
    for command in ("depots", "merchants", "runs", "routes", "orders", "parked", "redrive"):
        assert command in text
        assert lastmile("ops", command, "--help").returncode == 0, command
    top = ok(lastmile("--help"))
    commands = top.split("{", 1)[1].split("}", 1)[0].split(",")
    assert "ops" in commands
    for command in commands:
        assert lastmile(command, "--help").returncode == 0, command


def test_depots_listed_paged_and_shown(
    runtime: Runtime, planned: dict[str, Any], operator: dict[str, str]
) -> None:
    depot_id = planned["run"]["depot_id"]
    runtime.depot("CLI depot")  # three at least, so two are one page and not all
    everything = json.loads(ok(lastmile("ops", "depots", "--json", "--max", "1000", env=operator)))
    ids = [d["depot_id"] for d in everything["items"]]
    assert depot_id in ids and everything["next_cursor"] is None
    assert len(ids) > 2 and len(set(ids)) == len(ids)

    first = json.loads(ok(lastmile("ops", "depots", "--json", "--max", "2", env=operator)))
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = json.loads(
        ok(
            lastmile(
                "ops",
                "depots",
                "--json",
                "--max",
                "1000",
                "--cursor",
                first["next_cursor"],
                env=operator,
            )
        )
    )
    assert [d["depot_id"] for d in first["items"] + rest["items"]] == ids, "each once, in order"

    table = ok(lastmile("ops", "depots", "--max", "2", env=operator))
    assert table.splitlines()[0].split()[:2] == ["DEPOT_ID", "NAME"]
    assert "more: --cursor c1." in table

    shown = ok(lastmile("ops", "depots", "show", depot_id, env=operator))
    assert f"depot_id    {depot_id}" in shown and "Driver depot" in shown
    assert "VEHICLE_ID" in shown and "van-0" in shown


def test_merchants_are_shown_without_secrets(
    runtime: Runtime, planned: dict[str, Any], operator: dict[str, str]
) -> None:
    listed = json.loads(ok(lastmile("ops", "merchants", "--json", "--max", "1000", env=operator)))
    mine = [m for m in listed["items"] if m["name"] == "Driven"]
    assert mine
    shown = ok(lastmile("ops", "merchants", "show", mine[-1]["merchant_id"], env=operator))
    assert "merchant_id" in shown and planned["api_key"] not in shown and "secret" not in shown
    missing = lastmile("ops", "merchants", "show", "mer_nobody", env=operator)
    assert missing.returncode == 1 and "404" in missing.stderr


def test_runs_and_routes_of_a_depot(planned: dict[str, Any], operator: dict[str, str]) -> None:
    run = planned["run"]
    [route] = run["routes"]
    runs = ok(lastmile("ops", "runs", "--depot", run["depot_id"], env=operator))
    assert runs.splitlines()[0].split()[:2] == ["RUN_ID", "STATUS"]
    assert run["run_id"] in runs and "succeeded" in runs
    shown = json.loads(ok(lastmile("ops", "runs", "show", run["run_id"], "--json", env=operator)))
    assert shown["routes"][0]["route_id"] == route["route_id"]
    routes = ok(lastmile("ops", "routes", "--run", run["run_id"], env=operator))
    assert route["route_id"] in routes and "ROUTE_ID" in routes
    no_depot = lastmile("ops", "runs", env=operator)
    assert no_depot.returncode == 1 and "--depot" in no_depot.stderr


def test_orders_with_a_profile_file_filtered_and_cancelled(
    runtime: Runtime, planned: dict[str, Any], tmp_path: Path
) -> None:
    profile = tmp_path / "profile.toml"
    profile.write_text(
        f'[default]\nurl = "{runtime.base_url}"\nkey = "{ADMIN_KEY}"\n'
        f'merchant_key = "{planned["api_key"]}"\n'
    )
    env = {"LASTMILE_PROFILE": str(profile)}
    made = {o["order_id"] for o in planned["orders"]}
    listed = json.loads(ok(lastmile("ops", "orders", "--status", "planned", "--json", env=env)))
    assert {o["order_id"] for o in listed["items"]} == made
    table = ok(lastmile("ops", "orders", "--status", "planned", env=env))
    assert table.splitlines()[0].split()[:3] == ["ORDER_ID", "EXTERNAL_ID", "STATUS"]
    assert all(order_id in table for order_id in made)

    leaving = sorted(made)[0]
    cancelled = json.loads(ok(lastmile("ops", "orders", "cancel", leaving, "--json", env=env)))
    assert cancelled["status"] == "cancelled"
    left = json.loads(ok(lastmile("ops", "orders", "--status", "planned", "--json", env=env)))
    assert {o["order_id"] for o in left["items"]} == made - {leaving}
    shown = ok(lastmile("ops", "orders", "show", leaving, env=env))
    assert "cancelled" in shown and "order.cancelled" in shown

    # Flags win over the profile: a wrong key is the API's 401, said plainly.
    wrong = lastmile("ops", "orders", "--key", "nope", env=env)
    assert wrong.returncode == 1 and "401" in wrong.stderr


def test_without_a_url_or_key_it_says_where_to_put_them(tmp_path: Path) -> None:
    env = {"LASTMILE_PROFILE": str(tmp_path / "none.toml")}
    refused = lastmile("ops", "depots", env=env)
    assert refused.returncode == 1
    assert "LASTMILE_URL" in refused.stderr and "profile.toml" in refused.stderr
