"""Analytics over HTTP: a route driven through the driver API (on time, outside its window,
failed, into a locker and collected) read back from /v1/analytics/summary and the CSV, by the
operator and by merchants (each its own orders only; another merchant's id is 404)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.conftest import Runtime
from tests.e2e.test_driver_events import post
from tests.e2e.test_lockers import dispatch, kiosk, pickup_codes, place, setup

LONDON = ZoneInfo("Europe/London")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _window(runtime: Runtime, key: str, order_id: str) -> tuple[datetime, datetime]:
    view = runtime.merchant(key, "GET", f"/v1/orders/{order_id}").json()
    window = view["eta_window"]
    return (
        datetime.fromisoformat(window["start"].replace("Z", "+00:00")),
        datetime.fromisoformat(window["end"].replace("Z", "+00:00")),
    )


@pytest.fixture(scope="module")
def driven(runtime: Runtime) -> dict[str, Any]:
    """One route of four stops driven to its end: each outcome once."""
    world = setup(runtime, {"A": ["M", "M"]})
    home = [place(runtime, world, n, None) for n in (1, 2, 3)]
    locker = place(runtime, world, 4, "A")
    [route] = dispatch(runtime, world["depot_id"])["routes"]
    key = world["api_key"]
    assert post(runtime, route, type="departed", event_id="an-dep").status_code == 202

    on_time, early, failed = (o["order_id"] for o in home)
    now = datetime.now(UTC)
    start, _ = _window(runtime, key, on_time)
    at = max(start, now) + timedelta(seconds=20)
    for _ in range(2):  # the phone sends it twice: counted once
        answer = post(
            runtime, route, type="delivered", event_id="an-1", order_id=on_time, at=_iso(at)
        )
        assert answer.status_code == 202, answer.text
    start, _ = _window(runtime, key, early)
    before = start - timedelta(minutes=2)  # before the window told: not on time
    answer = post(
        runtime, route, type="delivered", event_id="an-2", order_id=early, at=_iso(before)
    )
    assert answer.status_code == 202, answer.text
    answer = post(
        runtime, route, type="failed", event_id="an-3", order_id=failed, reason="not_home"
    )
    assert answer.status_code == 202, answer.text
    start, _ = _window(runtime, key, locker["order_id"])
    at = max(start, datetime.now(UTC)) + timedelta(seconds=20)
    answer = post(
        runtime,
        route,
        type="deposited",
        event_id="an-4",
        order_id=locker["order_id"],
        at=_iso(at),
    )
    assert answer.status_code == 202, answer.text
    [code] = pickup_codes(runtime, locker["order_id"])
    assert kiosk(runtime, world, "A", "pickups", code=code).status_code == 200
    day = datetime.now(LONDON).date().isoformat()
    return world | {
        "route": route,
        "day": day,
        "on_time": on_time,
        "early": early,
        "failed": failed,
        "locker": locker["order_id"],
    }


def _summary(runtime: Runtime, token: str, **params: str) -> Any:
    return runtime.merchant(token, "GET", "/v1/analytics/summary", params=params)


def test_the_operator_reads_the_driven_route_in_the_summary(
    runtime: Runtime, driven: dict[str, Any]
) -> None:
    day, depot = driven["day"], driven["depot_id"]
    answer = runtime.admin(
        "GET", "/v1/analytics/summary", params={"from": day, "to": day, "depot_id": depot}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["from"], body["to"]) == (day, day)
    [group] = body["groups"]
    assert group["key"] == day
    assert (group["orders"], group["delivered"], group["failed_attempts"]) == (3, 3, 1)
    assert group["first_attempt_success_rate"] == 0.75  # 3 of the 4 first attempts
    assert group["on_time_rate"] == round(2 / 3, 4)  # on time and the locker; one early
    assert group["otif_rate"] == round(2 / 3, 4)
    assert group["failed_by_reason"] == {"not_home": 1}
    assert group["locker_share"] == round(1 / 3, 4) and group["collections"] == 1
    assert group["routes"] == 1 and group["stops_per_route"] == 4.0
    assert group["tasks_per_hour"] is not None and group["tasks_per_hour"] > 0
    assert group["km_per_stop"] is not None and group["co2e_g_per_parcel"] > 0
    assert group["median_delivery_minutes"] is not None
    assert set(body["definitions"]) >= {"on_time_rate", "otif_rate", "co2e_g_per_parcel"}

    [by_vehicle] = [
        g
        for g in runtime.admin(
            "GET",
            "/v1/analytics/summary",
            params={"from": day, "to": day, "depot_id": depot, "group_by": "vehicle"},
        ).json()["groups"]
        if g["key"] == driven["route"]["vehicle_id"]
    ]
    assert by_vehicle["delivered"] == 3 and by_vehicle["tasks_per_hour"] is not None


def test_the_csv_has_one_row_per_order_and_no_customer_data(
    runtime: Runtime, driven: dict[str, Any]
) -> None:
    day = driven["day"]
    answer = runtime.admin(
        "GET",
        "/v1/analytics/orders.csv",
        params={"from": day, "to": day, "depot_id": driven["depot_id"]},
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    rows = {r["order_id"]: r for r in csv.DictReader(io.StringIO(answer.text))}
    assert set(rows) == {driven[k] for k in ("on_time", "early", "failed", "locker")}
    assert rows[driven["on_time"]]["outcome"] == "delivered"
    assert rows[driven["on_time"]]["on_time"] == "true"
    assert rows[driven["early"]]["on_time"] == "false"
    assert rows[driven["failed"]]["outcome"] == "attempted"
    assert rows[driven["failed"]]["failed_reasons"] == "not_home"
    assert rows[driven["locker"]]["outcome"] == "collected"
    assert rows[driven["locker"]]["collected_at"]
    assert "Hopper" not in answer.text and "@" not in answer.text  # no names, no emails


def test_a_merchant_sees_its_own_orders_only(
    runtime: Runtime, driven: dict[str, Any], second_merchant: dict[str, str]
) -> None:
    day, key, other = driven["day"], driven["api_key"], second_merchant["api_key"]
    mine = _summary(runtime, key, **{"from": day, "to": day})
    assert mine.status_code == 200, mine.text
    [group] = mine.json()["groups"]
    assert group["delivered"] == 3
    assert group["tasks_per_hour"] is None  # a route serves many merchants

    theirs = _summary(runtime, other, **{"from": day, "to": day, "depot_id": driven["depot_id"]})
    assert theirs.status_code == 200 and theirs.json()["groups"] == []
    merchant_id = second_merchant["merchant_id"]
    refused = _summary(runtime, key, **{"from": day, "to": day, "merchant_id": merchant_id})
    assert refused.status_code == 404, refused.text
    assert refused.json()["error"]["code"] == "merchant_not_found"
    csv_theirs = runtime.merchant(
        other, "GET", "/v1/analytics/orders.csv", params={"from": day, "to": day}
    )
    assert csv_theirs.status_code == 200 and driven["on_time"] not in csv_theirs.text
    wrong = _summary(runtime, "not-a-key", **{"from": day, "to": day})
    assert wrong.status_code == 401


def test_bad_periods_are_422_naming_the_field(runtime: Runtime) -> None:
    for params, field in (
        ({"from": "2026-13-01", "to": "2026-01-02"}, "from"),
        ({"from": "2026-01-02", "to": "2026-01-01"}, "to"),
        ({"from": "2026-01-01", "to": "2026-12-31"}, "to"),
        ({"from": "2026-01-01", "to": "2026-01-02", "group_by": "planet"}, "group_by"),
    ):
        answer = runtime.admin("GET", "/v1/analytics/summary", params=params)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["field"] == field
    for name, value in (
        ("depot_id", "dep_nope"),
        ("merchant_id", "mer_nope"),
        ("depot_id", "d" * 3000),  # past any key DynamoDB holds: still a 404, not a 500
        ("merchant_id", "m" * 3000),
    ):
        unknown = runtime.admin(
            "GET",
            "/v1/analytics/summary",
            params={"from": "2026-01-01", "to": "2026-01-01", name: value},
        )
        assert unknown.status_code == 404, unknown.text
        assert unknown.json()["error"]["field"] == name
