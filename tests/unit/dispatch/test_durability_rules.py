"""The rules behind dispatch's durability, without AWS: what the reaper does with a held depot,
which left-out reasons need a person, and the size limits checked before the writes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.dispatch.commit import ROUTE_MAX_BYTES, _fitting
from chalicelib.dispatch.problem import (
    AFTER_HORIZON,
    LOCKER_MAX_PARCELS,
    PLANNING_REASONS,
    TOO_MANY_PARCELS,
    WINDOW_PASSED,
    LockerRoom,
    build,
    needs_a_person,
)
from chalicelib.dispatch.reaper import START_GRACE_S, Verdict, verdict
from chalicelib.dispatch.workflow import EXECUTION_TIMEOUT_S
from chalicelib.domain.dispatch import (
    PLAN_WRITES,
    TRANSACTION_MAX_ITEMS,
    DispatchPolicy,
    PlannedRoute,
    RouteStop,
    Run,
    RunStatus,
)
from chalicelib.domain.lockers import MAX_LOCKER_PARCELS, Locker
from chalicelib.domain.order import Delivery, DeliveryType, Parcel
from chalicelib.domain.times import iso_z
from chalicelib.routing import model as rm
from chalicelib.store.dispatch import route_item_bytes
from tests.unit.dispatch.test_problem_and_eta import DEPOT, T0, an_order, van, window

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def a_run(age_s: float, status: RunStatus = RunStatus.RUNNING) -> Run:
    return Run("run_1", "dep_1", status, "manual", iso_z(NOW - timedelta(seconds=age_s)))


@pytest.mark.parametrize(
    ("run", "execution", "expected"),
    [
        (None, None, Verdict.UNLOCK),  # a lock with no run behind it
        (a_run(60, RunStatus.SUCCEEDED), "SUCCEEDED", Verdict.UNLOCK),
        (a_run(60, RunStatus.FAILED), "FAILED", Verdict.UNLOCK),
        (a_run(60), "RUNNING", Verdict.WAIT),
        (a_run(EXECUTION_TIMEOUT_S + 60), "RUNNING", Verdict.WAIT),  # Step Functions' to stop
        (a_run(EXECUTION_TIMEOUT_S + 3600), "RUNNING", Verdict.STOP_AND_REAP),
        (a_run(60), "ABORTED", Verdict.REAP),
        (a_run(60), "TIMED_OUT", Verdict.REAP),
        (a_run(60), "FAILED", Verdict.REAP),  # its Release failed too
        (a_run(30), None, Verdict.WAIT),  # its start may still be on the way
        (a_run(START_GRACE_S + 1), None, Verdict.REAP),
    ],
)
def test_what_the_reaper_does_with_a_held_depot(
    run: Run | None, execution: str | None, expected: Verdict
) -> None:
    assert verdict(run, execution, NOW) is expected


def test_only_what_no_later_run_can_change_needs_a_person() -> None:
    with_window, without = an_order(1, window(-3, -1)), an_order(2)
    assert needs_a_person(WINDOW_PASSED, with_window)
    assert needs_a_person(TOO_MANY_PARCELS, without)
    assert needs_a_person(rm.REASON_OVER_CAPACITY, without)
    assert needs_a_person(rm.REASON_WINDOW_UNREACHABLE, with_window)
    # Without a window, unreachable means today's shifts end too soon: tomorrow's may not.
    assert not needs_a_person(rm.REASON_WINDOW_UNREACHABLE, without)
    for transient in (
        AFTER_HORIZON,
        rm.REASON_CAPACITY_SHORT,
        rm.REASON_TIME_SHORT,
        rm.REASON_LOCKER_FULL,
        rm.REASON_OUTSIDE_SHIFT,
        rm.REASON_NO_SKILL,  # also what an empty fleet gives every order
    ):
        assert not needs_a_person(transient, without), transient
        assert transient in PLANNING_REASONS
    # A failed run's release reason is no planning reason: those orders start the next run.
    assert "dispatch run run_1 failed (SolverError)" not in PLANNING_REASONS


def test_a_locker_order_whose_doors_and_writes_pass_a_transaction_is_left_out() -> None:
    assert LOCKER_MAX_PARCELS + PLAN_WRITES <= TRANSACTION_MAX_ITEMS
    assert LOCKER_MAX_PARCELS == MAX_LOCKER_PARCELS, "what a locker's deposit takes, no more"
    locker = Locker("lkr_a", "A", 51.52, -0.09, "dep_1", "2026-01-01T00:00:00Z")
    fits = replace(
        an_order(1, Delivery(DeliveryType.LOCKER, "lkr_a")),
        parcels=(Parcel(0.5, "M"),) * LOCKER_MAX_PARCELS,
    )
    too_big = replace(fits, order_id="ord_big", parcels=(*fits.parcels, Parcel(0.5, "M")))
    room = LockerRoom(locker, {"M": 500})

    built = build(DEPOT, [van("v", 0, 12)], [fits, too_big], DispatchPolicy(), T0, lockers=[room])

    assert [s.id for s in built.parts[0].stops] == [fits.order_id]
    assert built.left_out == {"ord_big": TOO_MANY_PARCELS}


def test_a_route_too_big_for_its_item_is_cut_and_the_rest_left_out() -> None:
    stops = tuple(
        RouteStop(f"ord_{n:05d}", "delivery", iso_z(T0), 51.5, -0.1, 120.0, iso_z(T0))
        for n in range(4000)
    )
    route = PlannedRoute(
        "rte_x_000", "run_x", "dep_1", "v", "van", iso_z(T0), 51.5, -0.1, 1.0, 1.0, stops
    )
    left_out: dict[str, str] = {}

    kept = _fitting(route, left_out)

    assert route_item_bytes(kept) <= ROUTE_MAX_BYTES < route_item_bytes(route)
    assert kept.stops == stops[: len(kept.stops)], "the first stops kept, in order"
    assert set(left_out) == {s.order_id for s in stops[len(kept.stops) :]}
    assert set(left_out.values()) == {"route_too_long"}
    small = replace(route, stops=stops[:100])
    assert _fitting(small, {}) is small


def test_the_local_fault_route_takes_exactly_the_faults_there_are() -> None:
    from typing import get_args

    from chalicelib.api.local import DispatchFaultIn
    from chalicelib.local.dispatch_faults import FAULTS

    assert set(get_args(DispatchFaultIn.model_fields["fault"].annotation)) == set(FAULTS)


def test_a_reaped_run_is_failed_with_an_error_naming_how_its_execution_ended() -> None:
    from chalicelib.dispatch.reaper import Reaper

    released: list[dict[str, object]] = []

    class Executions:
        def status(self, name: str) -> str | None:
            return None

        def stop(self, name: str, cause: str) -> None:
            raise AssertionError("nothing to stop")

    def release(event: dict[str, object]) -> dict[str, object]:
        released.append(event)
        return {"settled": True, "released": 2}

    reaper = Reaper(None, Executions(), release)  # type: ignore[arg-type]
    for execution, name in (
        ("ABORTED", "ExecutionAborted"),
        ("TIMED_OUT", "ExecutionTimedOut"),
        (None, "ExecutionNeverStarted"),
    ):
        [reaped] = reaper._reap("dep_1", "run_1", execution, Verdict.REAP)
        assert released[-1]["error"]["Error"] == name  # type: ignore[index]
        assert (reaped.run_id, reaped.execution, reaped.released) == ("run_1", execution, 2)


def test_an_order_a_person_fixed_counts_as_new_again() -> None:
    from chalicelib.domain.lifecycle import OrderStatus

    held = replace(
        an_order(1, window(-3, -1)),
        status=OrderStatus.NEEDS_ATTENTION,
        attention_reason=WINDOW_PASSED,
        unassigned_reason=WINDOW_PASSED,
    )
    fixed = held.moved_to(OrderStatus.READY, at=iso_z(NOW))
    assert (fixed.attention_reason, fixed.unassigned_reason) == (None, None)
    # Only leaving needs_attention clears it: a left-out order planned keeps its history.
    left = replace(an_order(2), unassigned_reason=rm.REASON_CAPACITY_SHORT)
    assert left.moved_to(OrderStatus.PLANNED, at=iso_z(NOW)).unassigned_reason == "capacity_short"
