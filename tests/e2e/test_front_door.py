"""The front door as a newcomer uses it: `make run`'s export block pasted into a shell, the
README's first commands pasted after it, and `make demo`'s script playing one parcel from the
Shopify webhook to the doorstep, against a runtime of their own (the demo dispatches the demo
depot, which no other test may share)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.conftest import ROOT, Runtime, started_runtime

README = (ROOT / "README.md").read_text()
NAMES = (
    "API",
    "ADMIN_KEY",
    "MERCHANT_KEY",
    "MERCHANT_ID",
    "SHOPIFY_SECRET",
    "WEBHOOK_SECRET",
    "STRIPE_WEBHOOK_SECRET",
    "KIOSK_KEY",
    "LOCKER",
    "DEPOT",
    "LASTMILE_URL",
    "LASTMILE_KEY",
    "LASTMILE_MERCHANT_KEY",
)


@pytest.fixture(scope="module")
def front_door() -> Iterator[Runtime]:
    with started_runtime() as runtime:
        yield runtime


def export_block(runtime: Runtime) -> str:
    """The block as `make run` printed it: from `export API=` to its last continued line."""
    lines = "".join(runtime.log).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("export API="))
    block = [lines[start]]
    while block[-1].endswith("\\"):
        block.append(lines[start + len(block)])
    return "\n".join(block)


def shell(script: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def bare_shell(home: Path) -> dict[str, str]:
    """A new terminal's environment: nothing of lastmile's until the export block is pasted
    (no LASTMILE_* names, no profile file in a home of its own)."""
    return {"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8"}


# The README's commands say `.venv/bin/lastmile`, the console script `make run` installs; a
# worktree's tests run the same entry point through the interpreter running them.
LASTMILE = f"{sys.executable} -m chalicelib.cli"


def readme_block(after: str) -> str:
    """The first ```bash block of the README after the line starting with `after`."""
    found = re.search(re.escape(after) + r".*?```bash\n(.*?)```", README, re.S)
    assert found is not None, after
    return found.group(1)


def test_the_export_block_sets_every_name_the_readme_uses(front_door: Runtime) -> None:
    block = export_block(front_door)
    printed = shell(block + "\n" + "\n".join(f'echo "{name}=${name}"' for name in NAMES))
    assert printed.returncode == 0, printed.stderr
    values = dict(line.split("=", 1) for line in printed.stdout.splitlines())
    demo = front_door.demo
    assert values == {
        "API": front_door.base_url,
        "ADMIN_KEY": front_door.info["admin_key"],
        "MERCHANT_KEY": demo["api_key"],
        "MERCHANT_ID": demo["merchant_id"],
        "SHOPIFY_SECRET": demo["shopify_secret"],
        "WEBHOOK_SECRET": demo["webhook_secret"],
        "STRIPE_WEBHOOK_SECRET": front_door.info["stripe_webhook_secret"],
        "KIOSK_KEY": demo["kiosk_key"],
        "LOCKER": demo["locker_id"],
        "DEPOT": demo["depot_id"],
        "LASTMILE_URL": front_door.base_url,
        "LASTMILE_KEY": front_door.info["admin_key"],
        "LASTMILE_MERCHANT_KEY": demo["api_key"],
    }
    # The README speaks in these names only: no other spelling of a key, no fixed port.
    for stale in ("$API_KEY", "$M ", '$M"', "$K ", '$K"', "$LASTMILE_ADMIN_KEY", "localhost:8000"):
        assert stale not in README, stale
    assert "http://127.0.0.1:8000/" not in README


def test_the_readmes_shopify_snippet_pasted_twice_is_created_then_duplicate(
    front_door: Runtime,
) -> None:
    snippet = readme_block("## Send a first Shopify webhook")
    first = shell(export_block(front_door) + "\n" + snippet)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith('{"outcome": "created"'), first.stdout[:300]
    assert '"external_id": "5987654321098765432"' in first.stdout
    assert '"first_name": "Ada"' in first.stdout, "the public view by the order's tracking code"
    again = shell(export_block(front_door) + "\n" + snippet)
    assert again.stdout.startswith('{"outcome": "duplicate"'), again.stdout[:300]


def test_the_readmes_standard_webhooks_snippet_sends_an_order_the_fleet_can_plan(
    front_door: Runtime,
) -> None:
    """The sample event goes out with a window inside the demo fleet's shift (never a window
    already past), signed as Standard Webhooks sign: created, ready, then duplicate."""
    snippet = readme_block("## Send an order from any platform (Standard Webhooks)")
    first = shell(export_block(front_door) + "\n" + snippet)
    assert first.returncode == 0, first.stderr
    sent = json.loads(first.stdout)
    assert sent["outcome"] == "created", first.stdout
    order = front_door.merchant(
        front_door.demo["api_key"], "GET", f"/v1/orders/{sent['order_id']}"
    ).json()
    assert order["status"] == "ready", order
    fleet = front_door.admin("GET", f"/v1/depots/{front_door.demo['depot_id']}/vehicles").json()
    shift = fleet["vehicles"][0]["shift"]
    window = order["delivery"]["window"]
    start, end = (datetime.fromisoformat(window[k]) for k in ("start", "end"))
    assert datetime.fromisoformat(shift["start"]) <= start < end
    assert end == datetime.fromisoformat(shift["end"]) and end > datetime.now(UTC)
    again = shell(export_block(front_door) + "\n" + snippet)
    assert json.loads(again.stdout)["outcome"] == "duplicate", again.stdout


def answers(text: str) -> list[dict[str, Any]]:
    """The JSON bodies curl printed one after another (with or without newlines between)."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while (at := text.find("{", at)) != -1:
        body, at = decoder.raw_decode(text, at)
        found.append(body)
    return found


def test_the_readmes_route_and_kiosk_calls_pasted_in_order() -> None:
    """Dispatch, drive a route (a home stop delivered), then the kiosk's deposit, pickup and
    retrieval, each block as the README has it, one after the other in one shell."""
    # A runtime of its own: it dispatches the demo depot, as make demo does on the shared one.
    with started_runtime() as runtime:
        headings = (
            "## Dispatch a depot",
            "## Drive a route",
            "**Deposit.**",
            "**Pickup.**",
            "**Retrieval.**",
        )
        blocks = "".join(f"{readme_block(h)}\necho '\n=='\n" for h in headings)
        pasted = shell(export_block(runtime) + "\n" + blocks)
        assert pasted.returncode == 0, pasted.stdout + pasted.stderr
        parts = [answers(part) for part in pasted.stdout.split("\n==")[:5]]
        run, drive, deposit, pickup, retrieval = parts
        assert run[-1]["status"] == "succeeded", run
        # The driver's block served a home stop, never a locker one (that is a deposit).
        kind = {s["order_id"]: s["kind"] for r in run[-1]["routes"] for s in r["stops"]}
        departed, delivered = drive
        assert departed["outcome"] == "applied" and delivered["outcome"] == "applied", drive
        assert delivered["route_id"] == departed["route_id"], drive
        assert kind[delivered["order_id"]] == "delivery" and delivered["status"] == "delivered"
        order = runtime.merchant(
            runtime.demo["api_key"], "GET", f"/v1/orders/{delivered['order_id']}"
        ).json()
        assert order["status"] == "delivered", order
    [deposited] = deposit
    assert deposited["order_id"].startswith("ord_") and deposited["compartment_ids"], deposited
    # The code the customer was sent opens the doors the courier filled.
    [picked] = pickup
    assert picked["order_id"] == deposited["order_id"], picked
    assert picked["compartment_ids"] == deposited["compartment_ids"]
    # Another locker order, left past its pickup_by, fetched by the next run's driver.
    second, swept, retrieved = retrieval
    assert second["order_id"] != deposited["order_id"] and second["compartment_ids"], second
    assert swept["result"]["expired"] == 1, swept
    assert retrieved["order_id"] == second["order_id"], retrieved
    assert retrieved["compartment_ids"] == second["compartment_ids"], retrieved


def test_the_readmes_locker_creation_pasted_twice_makes_one_locker(front_door: Runtime) -> None:
    """The operator's call creates the locker on the export block's depot; pasted again it is a
    conflict, not a second "Borough Market"."""
    snippet = readme_block("**Credentials.**")
    first = shell(export_block(front_door) + "\n" + snippet)
    assert first.returncode == 0, first.stderr
    created = json.loads(first.stdout)
    assert created["locker_id"] == "lkr_borough_market" and created["kiosk_key"], created
    again = shell(export_block(front_door) + "\n" + snippet)
    assert json.loads(again.stdout)["error"]["code"] == "already_exists", again.stdout
    locker = front_door.admin("GET", "/v1/lockers/lkr_borough_market").json()
    assert locker["depot_id"] == front_door.demo["depot_id"], locker
    nearby = front_door.merchant(
        front_door.demo["api_key"], "GET", "/v1/lockers?near=51.5055,-0.0910"
    ).json()
    names = [found["name"] for found in nearby["lockers"]]
    assert names.count("Borough Market") == 1, names


def test_make_demo_plays_one_parcel_from_webhook_to_doorstep(front_door: Runtime) -> None:
    """Against a `make run` that has outlived its fleet's shift (started thirteen hours ago, say):
    the demo moves the shift on first, then plays the parcel as on a fresh one."""
    depot = front_door.demo["depot_id"]
    fleet = front_door.admin("GET", f"/v1/depots/{depot}/vehicles").json()["vehicles"]
    now = datetime.now(UTC)
    ended = {
        "start": (now - timedelta(hours=13)).isoformat(),
        "end": (now - timedelta(hours=1)).isoformat(),
    }
    outlived = [{**v, "shift": ended} for v in fleet]
    put = front_door.admin("PUT", f"/v1/depots/{depot}/vehicles", json={"vehicles": outlived})
    assert put.status_code == 200, put.text
    demo = shell(f"{export_block(front_door)}\n{LASTMILE} demo")
    assert demo.returncode == 0, demo.stdout + demo.stderr
    lines = demo.stdout.splitlines()
    steps = [line.split()[1] for line in lines if re.match(r"\d\. ", line)]
    assert steps == [
        "fleet",
        "webhook",
        "order",
        "dispatch",
        "route",
        "departed",
        "arriving",
        "delivered",
        "tracking",
        "outbox",
    ], demo.stdout
    assert "created" in lines[1]
    shifts = front_door.admin("GET", f"/v1/depots/{depot}/vehicles").json()["vehicles"]
    for vehicle in shifts:
        start, end = (datetime.fromisoformat(vehicle["shift"][k]) for k in ("start", "end"))
        assert start <= now < end - timedelta(hours=9), vehicle
    url = re.search(r"(http://\S+/track/\w+)", demo.stdout)
    assert url is not None, demo.stdout
    page = requests.get(url.group(1), timeout=10)
    assert page.status_code == 200 and 'id="status" role="status">Delivered<' in page.text
    # Each step told the customer by email and, the number being a valid mobile, by SMS.
    sent = [line.split()[0] for line in lines if line.startswith("     ")]
    assert sent.count("email") >= 5 and sent.count("sms") >= 5, demo.stdout
    assert any("arriving soon" in line for line in lines), demo.stdout
    assert any("has been delivered" in line and line.split()[0] == "sms" for line in lines)


def test_the_demo_says_what_is_missing_without_the_export_block() -> None:
    env_less = subprocess.run(
        [sys.executable, "-m", "chalicelib.cli", "demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert env_less.returncode == 1
    assert "API, ADMIN_KEY, MERCHANT_ID, MERCHANT_KEY, SHOPIFY_SECRET, DEPOT not set" in (
        env_less.stdout
    )


def test_the_readmes_lastmile_ops_lines_run_with_the_export_block_alone(
    front_door: Runtime, tmp_path: Path
) -> None:
    """Pasted into a new terminal after the block: `lastmile ops` finds the API and the key
    from the names it sets, with no flag, profile or LASTMILE_* of the test's own."""
    snippet = readme_block("### When a vendor is down")
    commands = [line.split("#")[0] for line in snippet.splitlines()]
    assert any(".venv/bin/lastmile ops redrive" in c for c in commands), snippet
    assert not any("--url" in c or "--key" in c for c in commands), snippet
    script = export_block(front_door) + "\n" + snippet.replace(".venv/bin/lastmile", LASTMILE)
    pasted = shell(script, env=bare_shell(tmp_path))
    assert pasted.returncode == 0, pasted.stderr
    lines = pasted.stdout.splitlines()
    assert lines[0].startswith("retrying: ") and "dead-lettered: " in lines[0], pasted.stdout
    header = next(n for n, line in enumerate(lines) if line.startswith("WORK"))
    assert lines[header + 1].split()[0].isdigit(), pasted.stdout  # the redrive's counts
    # And `lastmile ops orders`, which speaks with the merchant's key, finds it the same way.
    orders = shell(
        f"{export_block(front_door)}\n{LASTMILE} ops orders --json --max 1",
        env=bare_shell(tmp_path),
    )
    assert orders.returncode == 0, orders.stderr
    assert len(json.loads(orders.stdout)["items"]) == 1
