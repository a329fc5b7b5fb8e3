"""The forecast over HTTP: five weeks of a depot's history written as facts through the fact
store into the runtime's DynamoDB (driving 35 days of routes through the driver API would
take minutes; the facts and aggregates are the same transactions the driver events write),
the daily forecast run through the schedule hook, then GET /v1/analytics/forecast."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from chalicelib.analytics.facts import Fact
from chalicelib.store.analytics import FactStore
from chalicelib.store.models.base import configure
from chalicelib.store.transaction import Transaction
from tests.e2e.conftest import ADMIN_KEY, Runtime, started_runtime

DAYS = 35
SATURDAY_ORDERS, OTHER_ORDERS = 30, 12
STOPS_PER_ROUTE = 8  # 2 routes a day of 8 stops each


def _day_facts(depot_id: str, day: date) -> list[Fact]:
    # -1, 0 or +1 about the weekday's count: never the same week on week (a series that is
    # leaves MASE undefined: nothing to scale by).
    n = (SATURDAY_ORDERS if day.weekday() == 5 else OTHER_ORDERS) + day.toordinal() % 3 - 1
    at = f"{day.isoformat()}T12:00:00Z"
    facts = [
        Fact(
            "delivery",
            f"ord_fc_{depot_id}_{day}_{i}",
            "DELIVERY",
            day.isoformat(),
            depot_id,
            "mer_fc",
            "van-1",
            at,
            {"attempt": 1, "parcels_delivered": 1},
        )
        for i in range(n)
    ]
    facts += [
        Fact(
            "route_completion",
            f"rte_fc_{depot_id}_{day}_{r}",
            "ROUTE",
            day.isoformat(),
            depot_id,
            "-",
            "van-1",
            at,
            {"stops": STOPS_PER_ROUTE, "tasks": STOPS_PER_ROUTE},
        )
        for r in range(2)
    ]
    return facts


@pytest.fixture(scope="module")
def runtime() -> Iterator[Runtime]:
    """A runtime of this module's own: the run reads 400 days of every depot there is, and the
    session's runtime collects dozens of other tests' depots."""
    with started_runtime() as started:
        yield started


@pytest.fixture(scope="module")
def depots(runtime: Runtime) -> Iterator[dict[str, Any]]:
    with pytest.MonkeyPatch.context() as env:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            env.setenv(name, "testing")
        configure(
            main_table="lastmile-main",
            outbox_table="lastmile-outbox",
            region=runtime.info["region"],
            host=runtime.info["aws_endpoint"],
        )
        with_history = runtime.depot("Forecast depot")
        without = runtime.depot("Forecast depot, new")
        today = datetime.now(ZoneInfo("Europe/London")).date()
        for back in range(DAYS, 0, -1):  # up to yesterday, London time
            tx = Transaction()  # one day's facts (at most 32 items) in one transaction
            FactStore().stage(tx, _day_facts(with_history, today - timedelta(days=back)))
            tx.commit()
        # Each depot's 400 days read, one query a day: longer than the helper's 30 s allows.
        ran = requests.post(
            runtime.url("/local/schedules/forecasts"),
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
            json={},
            timeout=180,
        )
        assert ran.status_code == 200, ran.text
        yield {
            "with_history": with_history,
            "without": without,
            "today": today,
            "run": ran.json()["result"],
        }
        configure(
            main_table="lastmile-main",
            outbox_table="lastmile-outbox",
            region=os.environ.get("AWS_DEFAULT_REGION", "eu-west-1"),
            host=None,
        )


def test_the_daily_run_forecasts_the_depot_with_history_and_skips_the_new_one(
    depots: dict[str, Any],
) -> None:
    assert depots["with_history"] in depots["run"]["forecast"]
    assert depots["without"] in depots["run"]["skipped"]


def test_the_forecast_answers_seven_days_with_their_vehicles(
    runtime: Runtime, depots: dict[str, Any]
) -> None:
    answer = runtime.admin(
        "GET", "/v1/analytics/forecast", params={"depot_id": depots["with_history"], "days": 7}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["depot_id"] == depots["with_history"]
    dates = [d["date"] for d in body["days"]]
    today = depots["today"]
    assert dates == [(today + timedelta(days=i)).isoformat() for i in range(7)]
    for day in body["days"]:
        assert day["orders_p90"] >= day["orders_p50"] >= 0
        assert day["vehicles_needed"] == math.ceil(day["orders_p90"] / STOPS_PER_ROUTE)
    by_weekday = {date.fromisoformat(d["date"]).weekday(): d for d in body["days"]}
    saturday = by_weekday[5]["orders_p50"]
    assert saturday == pytest.approx(SATURDAY_ORDERS, abs=3)
    assert all(by_weekday[k]["orders_p50"] == pytest.approx(OTHER_ORDERS, abs=2) for k in range(5))
    assert body["model"]
    # 35 days: origins at days 21 and 28 after 14 to fit on: a backtest with a baseline.
    assert body["backtest"]["mase"] is not None and body["backtest"]["baseline_mase"] is not None
    assert body["history"]["to"] == (today - timedelta(days=1)).isoformat()

    three = runtime.admin(
        "GET", "/v1/analytics/forecast", params={"depot_id": depots["with_history"], "days": 3}
    )
    assert three.json()["days"] == body["days"][:3]


def test_refusals(runtime: Runtime, depots: dict[str, Any]) -> None:
    url = "/v1/analytics/forecast"
    not_ready = runtime.admin("GET", url, params={"depot_id": depots["without"]})
    assert not_ready.status_code == 409
    assert not_ready.json()["error"]["code"] == "forecast_not_ready"
    unknown = runtime.admin("GET", url, params={"depot_id": "dep_nobody"})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "depot_not_found")
    for params, field in (
        ({}, "depot_id"),
        ({"depot_id": depots["with_history"], "days": 8}, "days"),
    ):
        refused = runtime.admin("GET", url, params=params)
        assert (refused.status_code, refused.json()["error"]["field"]) == (422, field)
    merchant = runtime.merchant(
        runtime.demo["api_key"], "GET", url, params={"depot_id": depots["with_history"]}
    )
    assert merchant.status_code == 401
    assert "days" not in merchant.text
    assert runtime.merchant("", "GET", url, params={"depot_id": "x"}).status_code == 401
