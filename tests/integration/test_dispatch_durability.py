"""Dispatch runs when things go wrong outside the state machine's Catch, and work that must
stay bounded: the reaper, the correction after a failed commit, orders no run can plan, the
cap on orders per run, and a locker order too big for one transaction."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib import bootstrap
from chalicelib.dispatch.problem import TOO_MANY_PARCELS
from chalicelib.domain.dispatch import Run, RunStatus, new_run_id
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.order import Delivery, DeliveryType
from chalicelib.domain.times import iso_z
from chalicelib.local import dispatch_faults
from chalicelib.local.dispatch import execution_arn
from chalicelib.local.stepfunctions import LocalStepFunctions
from chalicelib.lockers.admin import NewLocker
from chalicelib.store.lockers import locker_pk
from chalicelib.store.models.lockers import CompartmentItem
from tests.integration.test_dispatch import (
    faulty,
    order,
    outbox_types,
    place,
    run_to_end,
    run_view,
    sfn,
    stored,
    tenant,
)

__all__ = ["faulty", "sfn"]  # the workflow fixtures of test_dispatch, shared

pytestmark = pytest.mark.usefixtures("aws")

Workflow = tuple[LocalStepFunctions, str]


def reaped_metrics(out: str) -> list[dict[str, Any]]:
    """The DispatchRunsReaped figures the reaper printed as CloudWatch EMF lines."""
    blobs = [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]
    return [b for b in blobs if "DispatchRunsReaped" in b]


@pytest.fixture
def metrics_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.setenv("POWERTOOLS_DEV", "false")
    yield


def test_a_stopped_run_is_reaped_its_orders_ready_and_the_depot_free(
    faulty: Callable[..., Workflow], metrics_on: None, capfd: pytest.CaptureFixture[str]
) -> None:
    entered, let_go = threading.Event(), threading.Event()

    def hangs(event: dict[str, Any], context: Any) -> dict[str, Any]:
        entered.set()
        let_go.wait(30)
        raise RuntimeError("never returns in time")

    runner, arn = faulty("dispatch_build", hangs)
    merchant = tenant()
    placed = [place(merchant, n) for n in range(4)]
    run_id, started = bootstrap.dispatch().start(merchant.depot_id)
    assert started and entered.wait(30), "the run reached Build and hangs there"
    assert all(stored(o.order_id).claimed_by == run_id for o in placed)

    # Stopped by hand (or timed out): Step Functions runs no Catch, so nothing was released.
    sfn_client = bootstrap.client("stepfunctions")
    sfn_client.stop_execution(executionArn=execution_arn(arn, run_id), cause="operator")
    assert runner.wait(execution_arn(arn, run_id))["status"] == "ABORTED"
    let_go.set()
    assert bootstrap.dispatch().start(merchant.depot_id) == (run_id, False), "still locked"
    capfd.readouterr()

    swept = bootstrap.dispatch_reaper().sweep()

    assert [(r["run_id"], r["execution"]) for r in swept["reaped"]] == [(run_id, "ABORTED")]
    view = run_view(run_id)
    assert view["status"] == "failed" and "ExecutionAborted" in view["error"]
    for placed_order in placed:
        item = stored(placed_order.order_id)
        assert (item.status, item.claimed_by) == ("ready", None)
        assert run_id in (item.unassigned_reason or "")
    [metric] = reaped_metrics(capfd.readouterr().out)
    assert metric["DispatchRunsReaped"] == [1.0] and metric["service"] == "lastmile"
    assert bootstrap.dispatch_reaper().sweep()["reaped"] == [], "reaped once"
    # The depot is free: a new run starts (and, its Build let go, fails inside the Catch).
    new_id, started = bootstrap.dispatch().start(merchant.depot_id)
    assert started and new_id != run_id
    assert runner.wait(execution_arn(arn, new_id))["status"] == "FAILED"


def test_a_run_whose_execution_never_began_is_reaped_after_its_grace() -> None:
    merchant = tenant()
    placed = place(merchant, 1)
    repo = bootstrap.dispatch_repository()
    started = datetime.now(UTC) - timedelta(minutes=10)
    run = Run(new_run_id(), merchant.depot_id, RunStatus.RUNNING, "manual", iso_z(started))
    now = int(started.timestamp())
    assert repo.begin(run, now=now, lease_until=now + 7200) == run.run_id
    assert repo.claim(placed.order_id, run.run_id, now=now, until=now + 7200) is not None

    swept = bootstrap.dispatch_reaper().sweep()

    assert [(r["run_id"], r["execution"]) for r in swept["reaped"]] == [(run.run_id, None)]
    assert stored(placed.order_id).claimed_by is None
    assert run_view(run.run_id)["status"] == "failed"
    assert repo.active_run(merchant.depot_id, int(datetime.now(UTC).timestamp())) is None


def test_a_run_failing_after_commit_tells_each_planned_customer_once(
    faulty: Callable[..., Workflow],
) -> None:
    def finish_crashes(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise RuntimeError("Finish crashed after Commit")

    workflow = faulty("dispatch_finish", finish_crashes)
    merchant = tenant()
    placed = [place(merchant, n) for n in range(5)]

    run = run_to_end(workflow, merchant.depot_id)

    assert run["execution"]["status"] == "FAILED" and run["status"] == "failed"
    for placed_order in placed:
        assert order(placed_order.order_id).status is OrderStatus.READY
        types = outbox_types(placed_order.order_id)
        assert types.count("order.planned") == 1, "it had been told planned"
        assert types.count("order.replanning") == 1
    # Released again (the reaper, a retried Release): nobody hears twice.
    again = bootstrap.dispatch().release(
        {"run_id": run["run_id"], "depot_id": merchant.depot_id, "error": {"Error": "again"}}
    )
    assert again["released"] == 0 and again["settled"] is False
    assert all(outbox_types(o.order_id).count("order.replanning") == 1 for o in placed)


def test_an_order_whose_window_passed_needs_attention_once_and_triggers_nothing(
    sfn: Workflow,
) -> None:
    merchant = tenant()
    bootstrap.accounts().set_dispatch_policy(
        merchant.depot_id, {"rolling": {"every_minutes": 15, "min_orders": 1}, "time_limit_s": 3}
    )
    start, end = (datetime.now(UTC) - timedelta(hours=h) for h in (3, 2))
    window = {"start": start.isoformat(), "end": end.isoformat()}
    gone = place(merchant, 1, delivery={"type": "home", "window": window})
    fine = place(merchant, 2)

    first = run_to_end(sfn, merchant.depot_id)

    assert {u["order_id"]: u["reason"] for u in first["unassigned"]} == {
        gone.order_id: "window_passed"
    }
    assert first["figures"]["needs_attention"] == 1
    held = order(gone.order_id)
    assert (held.status, held.attention_reason) == (OrderStatus.NEEDS_ATTENTION, "window_passed")
    assert order(fine.order_id).status is OrderStatus.PLANNED
    # Nothing is left to plan: the rolling trigger does not fire for it...
    assert bootstrap.dispatch().tick(merchant.depot_id, "rolling")["started"] is False
    # ... and a run started anyway does not claim it.
    second = run_to_end(sfn, merchant.depot_id)
    assert second["figures"]["orders"] == 0
    assert stored(gone.order_id).claimed_by is None
    assert outbox_types(gone.order_id).count("order.needs_attention") == 1
    _, timeline = bootstrap.order_repository().get_with_timeline(gone.order_id) or (None, [])
    assert [e.type for e in timeline].count("order.needs_attention") == 1


def test_a_run_takes_at_most_its_cap_and_the_rest_wait_for_the_next(sfn: Workflow) -> None:
    merchant = tenant(vehicles=2, capacity=40)
    bootstrap.accounts().set_dispatch_policy(
        merchant.depot_id,
        {
            "rolling": {"every_minutes": 15, "min_orders": 1},
            "time_limit_s": 3,
            "max_orders_per_run": 5,
        },
    )
    placed = {place(merchant, n).order_id for n in range(12)}

    planned: list[set[str]] = []
    for _ in range(3):
        ticked = bootstrap.dispatch().tick(merchant.depot_id, "rolling")
        assert ticked["started"] is True, "the orders rolled over fire the trigger again"
        runner, arn = sfn
        assert runner.wait(execution_arn(arn, ticked["run_id"]))["status"] == "SUCCEEDED"
        run = run_view(ticked["run_id"])
        planned.append({s["order_id"] for r in run["routes"] for s in r["stops"]})
        assert run["figures"]["orders"] == len(planned[-1])

    assert [len(p) for p in planned] == [5, 5, 2]
    assert set().union(*planned) == placed
    assert bootstrap.dispatch().tick(merchant.depot_id, "rolling")["started"] is False


def test_a_locker_order_too_big_for_a_transaction_is_left_out_and_the_run_succeeds(
    sfn: Workflow,
) -> None:
    merchant = tenant(vehicles=2, capacity=200)
    locker, _ = bootstrap.locker_admin().create(
        NewLocker("Big locker", 51.51, -0.11, merchant.depot_id, [("M0", "M")])
    )
    # A bank of 130 doors: more than one transaction creates (the locker admin's own limit),
    # so the rest are added as their items, free, the way the admin writes them.
    for n in range(1, 130):
        CompartmentItem(
            locker_pk(locker.locker_id),
            f"COMP#M{n}",
            compartment_id=f"M{n}",
            size="M",
            state="free",
        ).save()
    assert len(bootstrap.locker_repository().compartments(locker.locker_id)) == 130
    others = [place(merchant, n) for n in range(5)]
    # Intake refuses such an order (more than a deposit takes); one stored before that rule,
    # or sent to a locker some other way, must still not fail its depot's runs.
    home = place(merchant, 9, parcels=[{"weight_kg": 0.5, "size": "M"}] * 120)
    big = replace(home, delivery=Delivery(DeliveryType.LOCKER, locker.locker_id))
    bootstrap.order_repository().save(big, [], expected_version=home.version)

    run = run_to_end(sfn, merchant.depot_id)

    assert run["execution"]["status"] == "SUCCEEDED" and run["status"] == "succeeded"
    stops = {s["order_id"] for r in run["routes"] for s in r["stops"]}
    assert stops == {o.order_id for o in others}
    assert {u["order_id"]: u["reason"] for u in run["unassigned"]} == {
        big.order_id: TOO_MANY_PARCELS
    }
    held = order(big.order_id)
    assert (held.status, held.attention_reason) == (OrderStatus.NEEDS_ATTENTION, TOO_MANY_PARCELS)
    doors = bootstrap.locker_repository().compartments(locker.locker_id)
    assert all(c.order_id is None for c in doors), "no door held for it"


def test_an_injected_commit_crash_halfway_fails_the_run_and_corrects_only_the_planned(
    sfn: Workflow,
) -> None:
    runner, _ = sfn
    merchant = tenant()
    placed = [place(merchant, n) for n in range(6)]
    dispatch_faults.inject(runner, "commit_crash_halfway")
    try:
        run = run_to_end(sfn, merchant.depot_id)
    finally:
        dispatch_faults.clear(runner)

    assert run["execution"]["status"] == "FAILED" and "InjectedCrash" in run["error"]
    told = [o for o in placed if "order.planned" in outbox_types(o.order_id)]
    assert len(told) == 3, "half were planned (and told) before the crash"
    for placed_order in placed:
        assert order(placed_order.order_id).status is OrderStatus.READY
        corrections = outbox_types(placed_order.order_id).count("order.replanning")
        assert corrections == (1 if placed_order in told else 0)
    # Cleared: the next run plans them all.
    again = run_to_end(sfn, merchant.depot_id)
    assert again["status"] == "succeeded"
    assert {s["order_id"] for r in again["routes"] for s in r["stops"]} == {
        o.order_id for o in placed
    }


def test_under_a_cap_new_orders_go_before_those_a_full_fleet_left_out(sfn: Workflow) -> None:
    merchant = tenant(vehicles=1, capacity=3)
    placed = [place(merchant, n) for n in range(5)]
    first = run_to_end(sfn, merchant.depot_id)
    left = {u["order_id"]: u["reason"] for u in first["unassigned"]}
    assert len(left) == 2 and set(left.values()) == {"capacity_short"}, left
    assert {o.order_id for o in placed} >= set(left)
    bootstrap.accounts().set_dispatch_policy(
        merchant.depot_id, {"time_limit_s": 3, "max_orders_per_run": 3}
    )
    fresh = {place(merchant, n).order_id for n in range(10, 13)}

    second = run_to_end(sfn, merchant.depot_id)

    claimed = {s["order_id"] for r in second["routes"] for s in r["stops"]} | {
        u["order_id"] for u in second["unassigned"]
    }
    assert claimed == fresh, "the new orders first; the left-out wait for room"
    assert all(stored(o).status == "ready" and stored(o).claimed_by is None for o in left)
