"""Each constraint on a problem small enough to check by hand: the plan respects it, and
what cannot be served comes back with the right reason."""

from __future__ import annotations

import pytest

from chalicelib.routing.insertion import has_room
from chalicelib.routing.instance import compile_problem
from chalicelib.routing.model import Break, Depot, Load, Locker, SlowdownPeriod, TimeWindow
from tests.unit.routing.scenarios import (
    a_problem,
    a_stop,
    a_vehicle,
    at,
    reasons,
    route_of,
    solve_checked,
    visit_of,
    window,
)


def test_time_windows_are_kept_and_an_unreachable_window_is_named():
    # a at distance 10 must wait until 100; b opens at 0 but closes at 5, 20 units away.
    problem = a_problem(
        [
            a_stop("a", 10, 0, windows=window(100, 120)),
            a_stop("b", 0, 20, windows=window(0, 5)),
            a_stop("c", 10, 10, windows=(TimeWindow(0, 1), TimeWindow(300, 400))),
        ]
    )
    result = solve_checked(problem)
    _, visit_a = visit_of(result, "a")
    assert 100 <= visit_a.start <= 120
    _, visit_c = visit_of(result, "c")
    assert 300 <= visit_c.start <= 400  # the first window of c is unreachable, the second not
    assert reasons(result) == {"b": "window_unreachable"}


def test_capacity_in_every_dimension_and_over_capacity_reason():
    small = a_vehicle(capacity=Load(parcels=10, weight=50.0, volume=100.0))
    problem = a_problem(
        [
            a_stop("light", 10, 0, demand=Load(parcels=4, weight=20.0)),
            a_stop("heavy", 0, 10, demand=Load(parcels=4, weight=40.0)),
            a_stop("huge", 5, 5, demand=Load(parcels=11)),
        ],
        vehicles=[small],
    )
    result = solve_checked(problem)
    served = route_of(result, "v1")
    # 20 + 40 kg exceeds 50 kg: only one of the two fits, the heavier one is worth no more.
    assert len({"light", "heavy"} & set(served)) == 1
    got = reasons(result)
    assert got["huge"] == "over_capacity"
    assert set(got) - {"huge"} <= {"light", "heavy"}
    assert all(got[s] == "capacity_short" for s in set(got) - {"huge"})
    assert result.routes[0].start_load.parcels == 4


def test_payload_of_the_profile_caps_weight():
    from chalicelib.routing.model import PROFILES

    bike = a_vehicle(profile=PROFILES["cargo_bike"], capacity=Load(parcels=50, weight=500.0))
    problem = a_problem([a_stop("piano", 1, 0, demand=Load(parcels=1, weight=200.0))], [bike])
    result = solve_checked(problem)
    assert reasons(result) == {"piano": "over_capacity"}


def test_shift_bounds_routes_and_stops_outside_every_shift_are_named():
    late = a_vehicle(shift=TimeWindow(500, 800))
    problem = a_problem(
        [a_stop("morning", 10, 0, windows=window(0, 400)), a_stop("noon", 10, 10)],
        vehicles=[late],
    )
    result = solve_checked(problem)
    assert reasons(result) == {"morning": "outside_every_shift"}
    route = result.routes[0]
    assert route.start >= 500 and route.end <= 800


def test_max_duration_and_distance_make_far_stops_unreachable():
    limited = a_vehicle(max_duration_s=100.0, max_distance_m=150.0)
    problem = a_problem(
        [a_stop("near", 10, 0), a_stop("far", 60, 0), a_stop("farther", 0, 80)],
        vehicles=[limited],
    )
    result = solve_checked(problem)
    # "far" alone: 120 s out and back + 10 s service > 100 s.
    assert reasons(result) == {"far": "window_unreachable", "farther": "window_unreachable"}
    assert result.routes[0].duration_s <= 100.0


def test_breaks_are_taken_within_their_window():
    driver = a_vehicle(breaks=(Break(earliest=50, latest=60, duration=30),))
    problem = a_problem(
        [
            a_stop("a", 20, 0, windows=window(0, 60)),
            a_stop("b", 40, 0, windows=window(0, 200)),
            a_stop("c", 20, 20),
        ],
        vehicles=[driver],
    )
    result = solve_checked(problem)
    # "a" must be served by 60, so the route is on the road through the break window.
    (brk,) = result.routes[0].breaks
    assert 50 <= brk.start <= 60 and brk.duration == 30
    # No visit's service overlaps the break.
    for visit in result.routes[0].visits:
        assert visit.departure <= brk.start + 1e-6 or visit.start >= brk.start + 30 - 1e-6


def test_a_break_that_makes_a_window_unreachable_is_reported():
    driver = a_vehicle(breaks=(Break(earliest=0, latest=5, duration=40),))
    problem = a_problem([a_stop("tight", 30, 0, windows=window(0, 60))], vehicles=[driver])
    result = solve_checked(problem)
    assert reasons(result) == {"tight": "window_unreachable"}


def test_skills_route_stops_to_vehicles_that_have_them():
    plain = a_vehicle("plain")
    cold = a_vehicle("cold", skills=frozenset({"fridge"}))
    problem = a_problem(
        [
            a_stop("ice", 10, 0, skills=frozenset({"fridge"})),
            a_stop("crane", 0, 10, skills=frozenset({"crane"})),
            a_stop("box", 5, 5),
        ],
        vehicles=[plain, cold],
    )
    result = solve_checked(problem)
    assert "ice" in route_of(result, "cold")
    assert reasons(result) == {"crane": "no_vehicle_with_skill"}


def test_pickups_are_carried_back_to_their_depot_after_deliveries_make_room():
    van = a_vehicle(capacity=Load(parcels=3))
    problem = a_problem(
        [
            a_stop("deliver", 10, 0, demand=Load(parcels=3)),
            a_stop("return", 12, 0, kind="pickup", demand=Load(parcels=2), drop_depot_id="d1"),
        ],
        vehicles=[van],
    )
    result = solve_checked(problem)
    route = result.routes[0]
    kinds = [(v.kind, v.stop_ids) for v in route.visits]
    assert kinds.index(("stop", ["deliver"])) < kinds.index(("stop", ["return"]))
    assert kinds[-1] == ("drop", ["return"])
    assert route.start_load.parcels == 3
    assert [v.load_after.parcels for v in route.visits] == [0, 2, 0]


def test_lockers_take_all_their_parcels_in_one_visit_within_free_compartments():
    locker = Locker(
        "L1", at(20, 0), free={"S": 1, "M": 1}, service_base_s=30, service_per_parcel_s=5
    )
    problem = a_problem(
        [
            a_stop("o1", 0, 0, kind="locker", locker_id="L1", parcel_sizes=("S",)),
            a_stop("o2", 0, 0, kind="locker", locker_id="L1", parcel_sizes=("M",)),
            a_stop("o3", 0, 0, kind="locker", locker_id="L1", parcel_sizes=("L",)),
            a_stop("o4", 0, 0, kind="locker", locker_id="L1", parcel_sizes=("S",), priority=0),
        ],
        lockers=(locker,),
    )
    result = solve_checked(problem)
    _route, visit = visit_of(result, "o1")
    assert sorted(visit.stop_ids) == ["o1", "o2"]
    assert visit.location == at(20, 0)
    assert visit.departure - visit.start == pytest.approx(30 + 5 * 2)
    assert reasons(result) == {"o3": "locker_full", "o4": "locker_full"}
    assert result.locker_allocation == {"o1": ["S"], "o2": ["M"]}


def test_higher_priority_wins_a_locker_compartment():
    locker = Locker("L1", at(20, 0), free={"M": 1})
    problem = a_problem(
        [
            a_stop("low", 0, 0, kind="locker", locker_id="L1", parcel_sizes=("S",)),
            a_stop("high", 0, 0, kind="locker", locker_id="L1", parcel_sizes=("S",), priority=3),
        ],
        lockers=(locker,),
    )
    result = solve_checked(problem)
    assert reasons(result) == {"low": "locker_full"}
    assert result.locker_allocation == {"high": ["M"]}


def test_low_priority_stops_are_dropped_first_when_capacity_is_short():
    van = a_vehicle(capacity=Load(parcels=2))
    problem = a_problem(
        [
            a_stop("p0", 50, 0, priority=0),
            a_stop("p3", 90, 0, priority=3),
            a_stop("p2", 0, 90, priority=2),
            a_stop("p0b", 1, 1, priority=0),
        ],
        vehicles=[van],
    )
    result = solve_checked(problem)
    assert set(route_of(result, "v1")) == {"p3", "p2"}
    assert reasons(result) == {"p0": "capacity_short", "p0b": "capacity_short"}


def test_a_stop_worth_less_than_its_detour_is_not_profitable():
    problem = a_problem([a_stop("near", 5, 0), a_stop("remote", 300, 0, value=0.001)])
    result = solve_checked(problem)
    assert reasons(result) == {"remote": "not_profitable"}


def test_several_depots_each_vehicle_starts_and_ends_at_its_own():
    west = a_vehicle("west", depot_id="dw")
    east = a_vehicle("east", depot_id="de", end_depot_id="de")
    problem = a_problem(
        [a_stop("w1", -100, 5), a_stop("w2", -105, -5), a_stop("e1", 100, 5), a_stop("e2", 104, 0)],
        vehicles=[west, east],
        depots=(Depot("dw", at(-100, 0)), Depot("de", at(100, 0))),
    )
    result = solve_checked(problem)
    assert set(route_of(result, "west")) == {"w1", "w2"}
    assert set(route_of(result, "east")) == {"e1", "e2"}
    assert result.distance_m < 40  # crossing over would cost 200 or more


def test_traffic_slowdown_stretches_travel_and_windows_still_hold():
    problem = a_problem(
        [a_stop("a", 100, 0, windows=window(0, 260))],
        traffic=(SlowdownPeriod(0, 50, 2.5),),
    )
    result = solve_checked(problem)
    _, visit = visit_of(result, "a")
    assert visit.arrival == pytest.approx(250)  # departs at 0 in the slow period
    slow = a_problem(
        [a_stop("a", 100, 0, windows=window(0, 200))], traffic=(SlowdownPeriod(0, 50, 2.5),)
    )
    # Planned with the worst slowdown of the shift, 100 * 2.5 > 200: honestly unreachable.
    assert reasons(solve_checked(slow)) == {"a": "window_unreachable"}


def test_breaks_of_unused_vehicles_do_not_stop_the_plan_and_skills_mix_with_windows():
    drivers = [
        a_vehicle(f"v{k}", breaks=(Break(100, 300, 20),), skills=frozenset({"x"} if k else set()))
        for k in range(3)
    ]
    problem = a_problem(
        [
            a_stop("a", 10, 0, windows=window(0, 500), skills=frozenset({"x"})),
            a_stop("b", 0, 10, windows=(TimeWindow(0, 20), TimeWindow(400, 600))),
        ],
        vehicles=drivers,
    )
    result = solve_checked(problem)
    assert not result.unassigned
    assert "a" not in route_of(result, "v0")


def test_a_break_may_be_left_for_the_depot_when_the_route_ends_before_it():
    driver = a_vehicle(breaks=(Break(earliest=500, latest=700, duration=60),))
    problem = a_problem([a_stop("a", 10, 0, windows=window(0, 50))], vehicles=[driver])
    result = solve_checked(problem)
    assert result.routes[0].end < 500 and result.routes[0].breaks == []
    # The checker insists on it when the route is on the road through the whole window.
    long_day = a_problem([a_stop("a", 10, 0, windows=window(690, 800))], vehicles=[driver])
    planned = solve_checked(long_day)
    assert len(planned.routes[0].breaks) == 1 or planned.routes[0].start >= 560


def test_a_return_carried_back_takes_no_room_when_the_van_leaves():
    """The fill-in's room check counts the load as the re-timing does: a drop brings a
    pickup back to the depot, it is not loaded at the start."""
    van = a_vehicle(capacity=Load(parcels=3))
    problem = a_problem(
        [
            a_stop("deliver", 10, 0, demand=Load(parcels=1)),
            a_stop("return", 12, 0, kind="pickup", demand=Load(parcels=2), drop_depot_id="d1"),
            a_stop("extra", 11, 0, demand=Load(parcels=2)),
        ],
        vehicles=[van],
    )
    inst = compile_problem(problem)
    node_of = {n.stop_ids[0]: i for i, n in enumerate(inst.nodes) if n.kind == "stop"}
    drop = next(i for i, n in enumerate(inst.nodes) if n.kind == "drop")
    route = [node_of["deliver"], node_of["return"], drop]
    assert has_room(inst, 0, route, node_of["extra"])  # 1 parcel out + 2 more fit in 3
    assert not has_room(inst, 0, [*route, node_of["extra"]], node_of["extra"])
