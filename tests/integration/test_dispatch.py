"""Dispatch runs through moto's state-machine interpreter executing the real ASL, with the
tasks in app.py's handlers and the real planner: every order ends planned, or ready with a
reason, whatever fails on the way."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chalicelib import bootstrap
from chalicelib.accounts.service import NewDepot, NewMerchant
from chalicelib.api.replies import DispatchRunOut
from chalicelib.dispatch.eta import ORDER_ETA_STEP
from chalicelib.domain.errors import ConcurrentUpdate
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.order import Order
from chalicelib.domain.tenancy import Merchant, Vehicle
from chalicelib.domain.times import parse_iso
from chalicelib.intake.canonical import CanonicalOrder
from chalicelib.local.aws import EmbeddedAws
from chalicelib.local.dispatch import deploy_dispatch, execution_arn, register_task
from chalicelib.local.scheduler import LocalScheduler
from chalicelib.local.stepfunctions import LocalStepFunctions
from chalicelib.orders.service import Action, Inbound
from chalicelib.routing.errors import SolverError
from chalicelib.store.dispatch import DispatchRepository
from chalicelib.store.models.orders import OrderItem, OutboxMessageItem
from chalicelib.store.orders import order_key
from chalicelib.tracking.live_eta import with_live_eta
from tests.builders import an_order

pytestmark = pytest.mark.usefixtures("aws")

CENTRE = (51.5074, -0.1278)


def _shift() -> tuple[str, str]:
    now = datetime.now(UTC).replace(microsecond=0)
    return (now - timedelta(hours=1)).isoformat(), (now + timedelta(hours=9)).isoformat()


def tenant(vehicles: int = 2, capacity: int = 40) -> Merchant:
    """A depot of its own (so runs of different tests never meet), its fleet and a merchant."""
    accounts = bootstrap.accounts()
    depot = accounts.create_depot(
        NewDepot(
            name="Test depot",
            lat=CENTRE[0],
            lng=CENTRE[1],
            timezone="Europe/London",
            dispatch={"time_limit_s": 3},
        )
    )
    start, end = _shift()
    accounts.set_fleet(
        depot.depot_id,
        [Vehicle(f"van-{n}", "van", capacity, 500.0, start, end) for n in range(vehicles)],
    )
    merchant, _ = accounts.create_merchant(NewMerchant(name="Shop", depot_id=depot.depot_id))
    return merchant


def place(merchant: Merchant, n: int, **overrides: Any) -> Order:
    lat = CENTRE[0] + 0.01 * ((n * 7) % 11 - 5)
    lng = CENTRE[1] + 0.015 * ((n * 5) % 13 - 6)
    body = an_order(external_id=f"ext-{n}", **overrides)
    body["address"] = body["address"] | {"lat": round(lat, 5), "lng": round(lng, 5)}
    draft = CanonicalOrder.model_validate(body).to_draft()
    inbound = Inbound("api", Action.UPSERT, draft.external_id, draft)
    result = bootstrap.orders().ingest(merchant, inbound)
    assert result.order is not None and result.order.status is OrderStatus.READY
    return result.order


def order(order_id: str) -> Order:
    found = bootstrap.order_repository().get(order_id)
    assert found is not None
    return found


def run_view(run_id: str) -> dict[str, Any]:
    """The run as GET /v1/dispatch-runs/{run_id} answers it."""
    return DispatchRunOut.of_results(bootstrap.dispatch().run_results(run_id)).body()


def run_to_end(sfn: tuple[LocalStepFunctions, str], depot_id: str) -> dict[str, Any]:
    runner, arn = sfn
    run_id, started = bootstrap.dispatch().start(depot_id)
    assert started
    execution = runner.wait(execution_arn(arn, run_id))
    return {"execution": execution, **run_view(run_id)}


def stored(order_id: str) -> OrderItem:
    """The order's item as stored, with what the domain Order does not carry (its claim)."""
    bootstrap.store()
    return OrderItem.get(*order_key(order_id), consistent_read=True)


def outbox_types(order_id: str) -> list[str]:
    bootstrap.store()
    return [m.type for m in OutboxMessageItem.query(f"ORDER#{order_id}")]


def assert_released(orders: list[Order], run: dict[str, Any]) -> None:
    """Every order back to ready with the failure as its reason, and nothing holds it."""
    assert run["status"] == "failed" and run["routes"] == []
    for placed in orders:
        item = stored(placed.order_id)
        assert item.status == "ready"
        assert item.claimed_by is None and item.route_id is None
        assert item.unassigned_reason and run["run_id"] in item.unassigned_reason, item


@pytest.fixture(scope="module")
def sfn(aws: EmbeddedAws) -> Iterator[tuple[LocalStepFunctions, str]]:
    runner, arn = deploy_dispatch(aws)
    yield runner, arn
    runner.close()


@pytest.fixture
def faulty(
    sfn: tuple[LocalStepFunctions, str],
) -> Iterator[Callable[..., tuple[LocalStepFunctions, str]]]:
    """The workflow with one of its functions replaced by a faulty one, for one test."""
    runner, _ = sfn
    replaced: list[str] = []

    def replace(function: str, handler: Any, timeout_s: float | None = None) -> Any:
        register_task(runner, function, handler, timeout_s)
        replaced.append(function)
        return sfn

    yield replace
    for function in replaced:
        register_task(runner, function)


def test_a_run_plans_every_order_or_says_why_not(sfn: tuple[LocalStepFunctions, str]) -> None:
    merchant = tenant()
    placed = [place(merchant, n) for n in range(12)]
    start, end = (datetime.now(UTC) - timedelta(hours=h) for h in (3, 2))
    gone = place(
        merchant,
        12,
        delivery={"type": "home", "window": {"start": start.isoformat(), "end": end.isoformat()}},
    )
    heavy = place(merchant, 13, parcels=[{"weight_kg": 900.0}])

    run = run_to_end(sfn, merchant.depot_id)

    assert run["execution"]["status"] == "SUCCEEDED", run["execution"]
    assert run["status"] == "succeeded"
    stops = [s for r in run["routes"] for s in r["stops"]]
    assert sorted(s["order_id"] for s in stops) == sorted(o.order_id for o in placed)
    assert {u["order_id"]: u["reason"] for u in run["unassigned"]} == {
        gone.order_id: "window_passed",
        heavy.order_id: "over_capacity",
    }
    for route in run["routes"]:
        etas = [s["eta"] for s in route["stops"]]
        assert etas == sorted(etas) and route["start_at"] <= etas[0]
        assert route["driver_token"].startswith("drv_") and route["vehicle_id"].startswith("van-")
        for stop in route["stops"]:
            planned = order(stop["order_id"])
            assert planned.status is OrderStatus.PLANNED
            assert (planned.route_id, planned.eta) == (route["route_id"], stop["eta"])
            assert outbox_types(planned.order_id).count("order.planned") == 1
    assert order(gone.order_id).unassigned_reason == "window_passed"
    # Neither can any later run plan: both wait for a person, with the reason.
    for held, reason in ((gone, "window_passed"), (heavy, "over_capacity")):
        assert order(held.order_id).status is OrderStatus.NEEDS_ATTENTION
        assert order(held.order_id).attention_reason == reason
        assert stored(held.order_id).claimed_by is None
    figures = run["figures"]
    assert (figures["orders"], figures["planned"], figures["unassigned"]) == (14, 12, 2)
    assert figures["routes"] == len(run["routes"]) and figures["distance_km"] > 0


def test_the_solver_raising_releases_every_order(
    faulty: Callable[..., tuple[LocalStepFunctions, str]],
) -> None:
    calls = Counter[str]()

    def crashing(event: dict[str, Any], context: Any) -> dict[str, Any]:
        calls["optimiser"] += 1
        raise SolverError("the solver crashed")

    runner, arn = faulty("optimiser", crashing)
    merchant = tenant()
    placed = [place(merchant, n) for n in range(5)]

    run = run_to_end((runner, arn), merchant.depot_id)

    assert run["execution"]["status"] == "FAILED"
    assert calls["optimiser"] == 2, "a SolverError is retried once"
    assert "SolverError" in run["error"]
    assert_released(placed, run)
    assert bootstrap.dispatch().start(merchant.depot_id)[1], "the depot is free again"


def test_the_solver_timing_out_releases_every_order(
    faulty: Callable[..., tuple[LocalStepFunctions, str]],
) -> None:
    def slow(event: dict[str, Any], context: Any) -> dict[str, Any]:
        time.sleep(3)
        return {}

    runner, arn = faulty("optimiser", slow, timeout_s=1)
    merchant = tenant()
    placed = [place(merchant, n) for n in range(4)]

    run = run_to_end((runner, arn), merchant.depot_id)

    assert run["execution"]["status"] == "FAILED"
    assert "Sandbox.Timedout" in run["error"]
    assert_released(placed, run)


def test_a_commit_failing_halfway_is_retried_without_doubles(
    sfn: tuple[LocalStepFunctions, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    merchant = tenant()
    placed = [place(merchant, n) for n in range(8)]
    real = DispatchRepository.plan_order
    done: list[str] = []
    calls = Counter[str]()
    lock = threading.Lock()

    def fails_on_the_fourth(self: DispatchRepository, *args: Any, **kwargs: Any) -> str:
        with lock:
            calls["plan_order"] += 1
            fail = calls["plan_order"] == 4
        if fail:
            with lock:
                done.append("failed")
            raise ConcurrentUpdate("throttled halfway through the commit")
        result = real(self, *args, **kwargs)
        with lock:
            done.append(result)
        return result

    monkeypatch.setattr(DispatchRepository, "plan_order", fails_on_the_fourth)

    run = run_to_end(sfn, merchant.depot_id)

    assert run["execution"]["status"] == "SUCCEEDED"
    assert calls["plan_order"] == 2 * len(placed), "the commit ran twice over every order"
    assert done.count("failed") == 1
    first, retry = done[: len(placed)], done[len(placed) :]
    written = first.count("planned")
    assert 3 <= written < len(placed), "the first attempt wrote part of the plan"
    assert retry.count("already") == written, "the retry recognises what was written"
    assert retry.count("planned") == len(placed) - written
    stops = [s["order_id"] for r in run["routes"] for s in r["stops"]]
    assert sorted(stops) == sorted(o.order_id for o in placed), "each order on one route once"
    for placed_order in placed:
        _, timeline = bootstrap.order_repository().get_with_timeline(placed_order.order_id) or (
            None,
            [],
        )
        assert [e.type for e in timeline].count("order.planned") == 1
        assert outbox_types(placed_order.order_id).count("order.planned") == 1


def test_two_requests_at_once_make_one_run(sfn: tuple[LocalStepFunctions, str]) -> None:
    merchant = tenant()
    for n in range(3):
        place(merchant, n)
    answers: list[tuple[str, bool]] = []
    barrier = threading.Barrier(6)

    def ask() -> None:
        barrier.wait()
        answers.append(bootstrap.dispatch().start(merchant.depot_id))

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len({run_id for run_id, _ in answers}) == 1
    assert [started for _, started in answers].count(True) == 1
    runner, arn = sfn
    assert runner.wait(execution_arn(arn, answers[0][0]))["status"] == "SUCCEEDED"


def test_orders_arriving_during_a_run_wait_for_the_next(
    faulty: Callable[..., tuple[LocalStepFunctions, str]],
) -> None:
    merchant = tenant()
    first = [place(merchant, n) for n in range(3)]
    late: list[Order] = []
    real_build = __import__("app").dispatch_build

    def build_while_an_order_arrives(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if not late:
            late.append(place(merchant, 50))
        return dict(real_build(event, context))

    runner, arn = faulty("dispatch_build", build_while_an_order_arrives)
    run = run_to_end((runner, arn), merchant.depot_id)

    assert run["status"] == "succeeded"
    planned = {s["order_id"] for r in run["routes"] for s in r["stops"]}
    assert planned == {o.order_id for o in first}
    assert order(late[0].order_id).status is OrderStatus.READY
    assert stored(late[0].order_id).claimed_by is None

    again = run_to_end((runner, arn), merchant.depot_id)
    assert [s["order_id"] for r in again["routes"] for s in r["stops"]] == [late[0].order_id]


def test_a_cancelled_planned_order_leaves_its_route_and_later_etas_move_up(
    sfn: tuple[LocalStepFunctions, str],
) -> None:
    merchant = tenant(vehicles=1)
    [place(merchant, n) for n in range(6)]
    run = run_to_end(sfn, merchant.depot_id)
    [route] = run["routes"]
    first, rest = route["stops"][0], route["stops"][1:]

    cancelled = order(first["order_id"])
    result = bootstrap.orders().ingest(
        merchant, Inbound("api", Action.CANCEL, cancelled.external_id)
    )

    assert result.order is not None and result.order.status is OrderStatus.CANCELLED
    after = run_view(run["run_id"])["routes"][0]["stops"]
    assert [s["order_id"] for s in after] == [s["order_id"] for s in rest]
    assert all(new["eta"] <= old["eta"] for new, old in zip(after, rest, strict=True))
    assert after[0]["eta"] < rest[0]["eta"], "the next stop is reached sooner"
    # Every reader shows the ETA last told, the order's own; the route's live one (what the run
    # view shows the operator) is rewritten on it once it moves past 5 minutes.
    held = order(after[0]["order_id"])
    shown = with_live_eta(held, bootstrap.dispatch_repository())
    assert shown.eta == held.eta and held.eta_from and held.eta_to
    live, told = parse_iso(after[0]["eta"]), parse_iso(held.eta or "")
    assert told == live or abs(told - live) <= ORDER_ETA_STEP


def test_a_run_with_no_ready_orders_succeeds_empty(sfn: tuple[LocalStepFunctions, str]) -> None:
    merchant = tenant()
    run = run_to_end(sfn, merchant.depot_id)
    assert (run["status"], run["routes"], run["unassigned"]) == ("succeeded", [], [])
    assert json.dumps(run["figures"]) == json.dumps({"orders": 0, "planned": 0, "routes": 0})


def test_a_depot_policy_becomes_schedules_that_start_runs(
    aws: EmbeddedAws, sfn: tuple[LocalStepFunctions, str]
) -> None:
    merchant = tenant()
    depot_id = merchant.depot_id
    accounts = bootstrap.accounts()
    accounts.set_dispatch_policy(
        depot_id,
        {
            "waves": ["10:30", "15:00"],
            "rolling": {"every_minutes": 30, "min_orders": 3},
            "time_limit_s": 3,
        },
    )
    scheduler = aws.client("scheduler")
    group = bootstrap.settings().schedule_group
    mine = {
        s["Name"]: scheduler.get_schedule(Name=s["Name"], GroupName=group)
        for s in scheduler.list_schedules(GroupName=group)["Schedules"]
    }
    mine = {n: s for n, s in mine.items() if depot_id in s["Target"]["Input"]}
    assert sorted(s["ScheduleExpression"] for s in mine.values()) == [
        "cron(0 15 * * ? *)",
        "cron(30 10 * * ? *)",
        "rate(30 minutes)",
    ]
    assert {s["ScheduleExpressionTimezone"] for s in mine.values()} == {"Europe/London"}
    assert {s["Target"]["Arn"] for s in mine.values()} == {bootstrap.settings().dispatch_tick_arn}

    accounts.set_dispatch_policy(depot_id, {"waves": ["15:00"], "time_limit_s": 3})
    left = [
        scheduler.get_schedule(Name=s["Name"], GroupName=group)["ScheduleExpression"]
        for s in scheduler.list_schedules(GroupName=group)["Schedules"]
        if s["Name"] in mine
    ]
    assert left == ["cron(0 15 * * ? *)"]

    # The local loop fires the 15:00 wave (London time) through the Lambda API: a run starts.
    place(merchant, 1)
    loop = LocalScheduler(scheduler, aws.client("lambda"), group)
    day = datetime.now(UTC).date()
    fifteen = datetime(day.year, day.month, day.day, 15, 0, tzinfo=ZoneInfo("Europe/London"))
    loop.check(fifteen - timedelta(minutes=1))
    fired = loop.check(fifteen + timedelta(seconds=30))
    assert [n for n in fired if n in mine] == [n for n in mine if n.endswith("wave-1500")]
    runner, arn = sfn
    active = bootstrap.dispatch_repository().active_run(depot_id, int(time.time()))
    assert active is not None, "the wave started a run"
    assert runner.wait(execution_arn(arn, active))["status"] == "SUCCEEDED"


def test_a_rolling_tick_waits_for_enough_orders(sfn: tuple[LocalStepFunctions, str]) -> None:
    merchant = tenant()
    bootstrap.accounts().set_dispatch_policy(
        merchant.depot_id, {"rolling": {"every_minutes": 15, "min_orders": 3}, "time_limit_s": 3}
    )
    place(merchant, 1)
    assert bootstrap.dispatch().tick(merchant.depot_id, "rolling")["started"] is False
    place(merchant, 2)
    place(merchant, 3)
    ticked = bootstrap.dispatch().tick(merchant.depot_id, "rolling")
    assert ticked["started"] is True
    runner, arn = sfn
    assert runner.wait(execution_arn(arn, ticked["run_id"]))["status"] == "SUCCEEDED"
