"""Nothing the outbox carries is lost when a vendor fails, over HTTP against a local runtime of
its own with a retry schedule of seconds: SendGrid held at 503 for longer than the stream's
retries last parks the emails, which arrive once after the outage while the SMS go at once;
an outage longer than every attempt leaves the work in the dead-letter queue, and
`lastmile ops redrive` (the command line, against the runtime) puts it back, delivered once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from tests.builders import an_order
from tests.e2e.conftest import ADMIN_KEY, ROOT, Runtime, started_runtime

PHONE = "+447911123456"
# Four attempts, the last at least 2+4+16 s plus three attempts' own tries after the first
# (each attempt tries SendGrid three times, 0.5 s and 1 s apart): 26.5 s after the first.
DELAYS_S = "2,4,16"
OUTAGE_S = 20  # longer than the stream's retries would last; shorter than the parked work's
STREAM_RETRIES = 3  # each a second apart: the stream alone would be done within ~10 s


@pytest.fixture(scope="module")
def quick() -> Iterator[Runtime]:
    settings = {
        "LASTMILE_NOTIFY_RETRY_DELAYS_S": DELAYS_S,
        "LASTMILE_LOCAL_STREAM_RETRIES": str(STREAM_RETRIES),
        "LASTMILE_SEED": "none",  # no demo orders' messages ahead of the tests' in the stream
    }
    with started_runtime(**settings) as started:
        yield started


@pytest.fixture(scope="module")
def api_key(quick: Runtime) -> str:
    """A merchant of the tests' own."""
    created = quick.admin(
        "POST", "/v1/merchants", json={"name": "Durable Goods", "depot_id": quick.depot("Durable")}
    )
    assert created.status_code == 201, created.text
    return str(created.json()["api_key"])


def outage(runtime: Runtime, vendor: str, status: int, seconds: float) -> None:
    answer = requests.post(
        runtime.url(f"/local/vendors/{vendor}/outage"),
        json={"status": status, "seconds": seconds},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text


def order(runtime: Runtime, api_key: str, external_id: str) -> str:
    body = an_order(external_id=f"{external_id}-{time.time_ns()}")
    body["customer"] = {"name": "Ada Lovelace", "email": "ada@example.com", "phone": PHONE}
    created = runtime.merchant(api_key, "POST", "/v1/orders", json=body)
    assert created.status_code == 201, created.text
    return str(created.json()["order_id"])


def outbox(runtime: Runtime, order_ids: set[str]) -> list[dict[str, Any]]:
    messages = requests.get(runtime.url("/local/outbox"), timeout=10).json()["messages"]
    return [m for m in messages if m.get("order_id") in order_ids]


def until(what: Callable[[], Any], seconds: float, why: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        time.sleep(0.25)
    pytest.fail(f"not within {seconds} s: {why}")


def parked(runtime: Runtime) -> dict[str, Any]:
    answer = runtime.admin("GET", "/v1/ops/parked", params={"limit": 200})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def channel(runtime: Runtime, ids: set[str], name: str) -> list[dict[str, Any]]:
    return [m for m in outbox(runtime, ids) if m["channel"] == name]


def test_emails_held_by_a_sendgrid_outage_arrive_once_after_it_and_sms_go_at_once(
    quick: Runtime, api_key: str
) -> None:
    outage(quick, "sendgrid", 503, OUTAGE_S)
    ids = {order(quick, api_key, "outage") for _ in range(3)}

    until(lambda: len(channel(quick, ids, "sms")) == 3, OUTAGE_S, "the SMS, during the outage")
    assert channel(quick, ids, "email") == []  # the SMS did not wait for the emails
    during = parked(quick)
    assert during["counts"]["retrying"] >= 1 and during["counts"]["dead"] == 0
    states = [
        quick.merchant(api_key, "GET", f"/v1/orders/{i}/notifications").json()["email"][0]["state"]
        for i in ids
    ]
    assert set(states) <= {"retry", "sending"}  # tried and parked, or being tried again

    until(lambda: len(channel(quick, ids, "email")) == 3, 60, "the emails, after the outage")
    time.sleep(3)  # and nothing more comes
    assert Counter((m["order_id"], m["channel"]) for m in outbox(quick, ids)) == {
        (order_id, channel): 1 for order_id in ids for channel in ("email", "sms")
    }
    for order_id in ids:
        listed = quick.merchant(api_key, "GET", f"/v1/orders/{order_id}/notifications").json()
        assert [e["state"] for e in listed["email"]] == ["sent"]
        assert [e["state"] for e in listed["sms"]] == ["sent"]


def test_an_outage_longer_than_every_attempt_is_dead_lettered_and_redriven_once(
    quick: Runtime, api_key: str
) -> None:
    outage(quick, "sendgrid", 503, 600)
    order_id = order(quick, api_key, "dead")

    def dead_letter() -> dict[str, Any] | None:
        items = parked(quick)["items"]
        return next(
            (i for i in items if i.get("order_id") == order_id and i["kind"] == "work"), None
        )

    letter = until(dead_letter, 90, "the email's work in the dead-letter queue")
    assert letter["handler"] == "notifications" and letter["attempts"] == 4
    assert "503" in letter["error"] or "Unavailable" in letter["error"]
    assert [m["channel"] for m in outbox(quick, {order_id})] == ["sms"]
    outage(quick, "sendgrid", 503, 0)  # SendGrid is back

    env = {**os.environ, "LASTMILE_URL": quick.base_url, "LASTMILE_KEY": ADMIN_KEY}
    redriven = subprocess.run(
        [sys.executable, "-m", "chalicelib.cli", "ops", "redrive", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert redriven.returncode == 0, redriven.stderr
    counts = json.loads(redriven.stdout)
    assert counts["work"] >= 1 and counts["remaining"] == 0

    until(lambda: channel(quick, {order_id}, "email"), 20, "the redriven email")
    time.sleep(3)
    assert Counter(m["channel"] for m in outbox(quick, {order_id})) == {"email": 1, "sms": 1}
    assert parked(quick)["counts"]["dead"] == 0
    table = subprocess.run(
        [sys.executable, "-m", "chalicelib.cli", "ops", "parked"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert table.returncode == 0 and table.stdout.startswith("retrying: "), table.stderr


def test_the_ops_routes_want_the_operator_key(quick: Runtime) -> None:
    for method, path in (("GET", "/v1/ops/parked"), ("POST", "/v1/ops/redrive")):
        wrong = requests.request(
            method, quick.url(path), headers={"Authorization": "Bearer nope"}, timeout=10
        )
        assert wrong.status_code == 401, (path, wrong.text)
    cursor = quick.admin("GET", "/v1/ops/parked", params={"cursor": "abc"})
    assert cursor.status_code == 400 and cursor.json()["error"]["code"] == "invalid_cursor"
    limit = quick.admin("GET", "/v1/ops/parked", params={"limit": "0"})
    assert limit.status_code == 422 and limit.json()["error"]["field"] == "limit"
    too_many = quick.admin("POST", "/v1/ops/redrive", json={"limit": 5000})
    assert too_many.status_code == 422
