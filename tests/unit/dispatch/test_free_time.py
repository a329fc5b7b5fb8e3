"""When a vehicle is free for a run: its shift less the routes it is committed to (until they
come back, late ones later), with the breaks its driver still owes; and the problem built so."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from chalicelib.dispatch.free_time import busy, free_time
from chalicelib.dispatch.problem import FLEET_BUSY, PLANNING_REASONS, build, needs_a_person
from chalicelib.dispatch.service import DispatchService
from chalicelib.domain.dispatch import (
    DispatchPolicy,
    Fix,
    PlannedRoute,
    ReadyOrder,
    RouteStop,
    Run,
)
from chalicelib.domain.tenancy import Depot, ShiftBreak, Vehicle
from chalicelib.domain.times import iso_z
from tests.unit.dispatch.test_problem_and_eta import an_order

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
DEPOT = Depot("dep_1", "Depot", 51.5, -0.1, "Europe/London", "2026-01-01T00:00:00Z")


def at(h: float) -> datetime:
    return T0 + timedelta(hours=h)


def van(vehicle_id: str = "van-0", start_h: float = 0, end_h: float = 10, breaks=()) -> Vehicle:
    return Vehicle(
        vehicle_id, "van", 50, 400.0, at(start_h).isoformat(), at(end_h).isoformat(), (), breaks
    )


def lunch(earliest_h: float, latest_h: float, minutes: int = 30) -> ShiftBreak:
    return ShiftBreak(at(earliest_h).isoformat(), at(latest_h).isoformat(), minutes * 60.0)


def route(
    start_h: float,
    hours: float,
    vehicle_id: str = "van-0",
    stops: tuple[RouteStop, ...] | None = None,
    breaks_at: tuple[str, ...] = (),
) -> PlannedRoute:
    end = at(start_h + hours)
    if stops is None:  # one stop by the depot, served at the end: the route ends on its plan
        stops = (RouteStop("ord_1", "delivery", iso_z(end), 51.5, -0.1, 0.0),)
    return PlannedRoute(
        f"rte_x_{int(start_h * 10):03d}",
        "run_x",
        "dep_1",
        vehicle_id,
        "van",
        iso_z(at(start_h)),
        51.5,
        -0.1,
        10_000.0,
        hours * 3600,
        stops,
        breaks_at=breaks_at,
    )


def test_a_vehicle_with_nothing_committed_is_free_for_its_shift_from_now() -> None:
    free = free_time(van(start_h=-1, end_h=10), [], at(0), at(12))
    assert free is not None and (free.start, free.end) == (at(0), at(10))


def test_a_vehicle_is_free_only_after_its_committed_route_comes_back() -> None:
    free = free_time(van(), [route(0.5, 3)], at(0), at(12))
    # Before the route (30 minutes) is shorter than after it (6.5 hours): the longer stretch.
    assert free is not None and (free.start, free.end) == (at(3.5), at(10))


def test_another_vehicles_routes_do_not_hold_this_one() -> None:
    free = free_time(van("van-1"), [route(0, 5, vehicle_id="van-0")], at(0), at(12))
    assert free is not None and free.start == at(0)


def test_a_late_route_holds_its_vehicle_until_its_live_return() -> None:
    # Its last stop, 10 km out, now due at 4h (the plan said 2h): back well after 4h.
    stop = RouteStop("ord_1", "delivery", iso_z(at(4)), 51.59, -0.1, 300.0)
    late = route(0, 2, stops=(stop,))
    start, until = busy(late) or (None, None)
    assert start == at(0) and until is not None and until > at(4) + timedelta(minutes=5)
    free = free_time(van(), [late], at(1), at(12))
    assert free is not None and free.start == until


def test_a_route_served_to_the_end_holds_its_vehicle_until_it_drives_back() -> None:
    done = RouteStop("ord_1", "delivery", iso_z(at(1)), 51.59, -0.1, 0.0, state="done")
    seen = Fix(51.59, -0.1, iso_z(at(2.5)), iso_z(at(2.5)))
    served = replace(route(0, 2, stops=(done,)), last_fix=seen)
    _, until = busy(served) or (None, None)
    assert until is not None and until > at(2.5)


def test_a_route_whose_orders_all_left_before_it_set_off_holds_nothing() -> None:
    gone = RouteStop("ord_1", "delivery", iso_z(at(1)), 51.59, -0.1, 0.0, state="cancelled")
    assert busy(route(0.5, 3, stops=(gone,))) is None
    free = free_time(van(), [route(0.5, 3, stops=(gone,))], at(0), at(12))
    assert free is not None and free.start == at(0)


def test_no_stretch_long_enough_means_not_free() -> None:
    assert free_time(van(end_h=4), [route(0, 3.95)], at(0), at(12)) is None


def test_a_break_taken_on_a_committed_route_is_not_owed_again() -> None:
    vehicle = van(breaks=(lunch(2, 4),))
    taken = route(0, 4.5, breaks_at=(iso_z(at(2.5)),))
    free = free_time(vehicle, [taken], at(0), at(12))
    assert free is not None and free.breaks == ()


def test_a_break_not_yet_taken_is_owed_within_the_free_stretch() -> None:
    vehicle = van(breaks=(lunch(2, 6),))
    free = free_time(vehicle, [route(0, 3)], at(0), at(12))
    assert free is not None
    # Clipped to start once the vehicle is back.
    assert free.breaks == (lunch(3, 6),)


def test_a_break_whose_window_closed_before_the_stretch_is_not_planned() -> None:
    vehicle = van(breaks=(lunch(1, 2),))
    free = free_time(vehicle, [route(0, 3)], at(0), at(12))
    assert free is not None and free.breaks == ()


def test_build_plans_each_vehicle_only_in_its_free_time_with_its_breaks() -> None:
    fleet = [van("van-0", breaks=(lunch(2, 6),)), van("van-1")]
    built = build(
        DEPOT, fleet, [an_order(1)], DispatchPolicy(), T0, committed=[route(0, 3, "van-0")]
    )
    vehicles = {v.id: v for v in built.parts[0].vehicles}
    assert vehicles["van-0"].shift.start == 3 * 3600 and vehicles["van-1"].shift.start == 0
    assert [(b.earliest, b.latest) for b in vehicles["van-0"].breaks] == [(3 * 3600, 6 * 3600)]
    assert built.held == frozenset({"van-0"})


def test_orders_wait_as_fleet_busy_when_every_vehicle_is_out() -> None:
    built = build(
        DEPOT,
        [van("van-0", end_h=4)],
        [an_order(1), an_order(2)],
        DispatchPolicy(),
        T0,
        committed=[route(0, 4, "van-0")],
    )
    assert built.parts[0].vehicles == () and built.parts[0].stops == ()
    assert set(built.left_out.values()) == {FLEET_BUSY}


def test_fleet_busy_is_a_reason_to_wait_not_to_call_a_person() -> None:
    assert FLEET_BUSY in PLANNING_REASONS
    assert not needs_a_person(FLEET_BUSY, an_order(1))


class _Repo:
    """Ready orders a run left out as fleet_busy, routes committed, runs begun."""

    def __init__(self, committed: list[PlannedRoute]) -> None:
        self.committed = committed
        self.begun: list[str] = []

    def ready_orders(self, depot_id: str) -> list[ReadyOrder]:
        return [ReadyOrder(f"ord_{n}", left_out_for=FLEET_BUSY) for n in range(3)]

    def routes_of_depot(self, depot_id: str, since: datetime) -> list[PlannedRoute]:
        return self.committed

    def begin(self, run: Run, *, now: int, lease_until: int) -> str | None:
        self.begun.append(run.run_id)
        return run.run_id


class _Accounts:
    def depot(self, depot_id: str) -> Depot:
        return replace(DEPOT, dispatch={"rolling": {"every_minutes": 15, "min_orders": 1}})

    def fleet(self, depot_id: str) -> list[Vehicle]:
        return [van("van-0", end_h=6)]


class _Executions:
    def start(self, name: str, payload: dict[str, object]) -> None:
        pass


def _ticked(committed: list[PlannedRoute]) -> dict[str, object]:
    service = DispatchService(
        _Repo(committed),  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        _Accounts(),  # type: ignore[arg-type]
        _Executions(),
        None,  # type: ignore[arg-type]
        clock=lambda: at(1),
    )
    return service.tick("dep_1", "rolling")


def test_a_rolling_tick_starts_a_run_for_fleet_busy_orders_once_a_vehicle_is_back() -> None:
    assert _ticked([route(0, 6)])["started"] is False, "the only van is out until its shift ends"
    assert _ticked([route(0, 0.5)])["started"] is True, "back at 08:30: a run for the three"
