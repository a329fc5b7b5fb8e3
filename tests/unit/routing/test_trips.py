"""Multiple trips: a vehicle comes back to its depot to reload within its shift. The
portfolio gives reloads to PyVRP (OR-Tools plans the same problem in one trip per vehicle);
the exact re-timing and the independent checker verify each trip's load, the reload time,
time continuity and the shift."""

from __future__ import annotations

import copy
import math
import time

import pytest

from chalicelib.routing.checker import check_plan
from chalicelib.routing.instance import compile_problem
from chalicelib.routing.model import Load, Plan, Problem, TimeWindow
from chalicelib.routing.planner import EngineSpec, plan
from chalicelib.routing.pyvrp_engine import solve_pyvrp
from chalicelib.routing.schedule import simulate
from chalicelib.routing.solution import EngineRoute
from tests.unit.routing.scenarios import a_problem, a_stop, a_vehicle, solve_checked

# Two clusters far apart (x = +-100), three parcels each; the bike carries three at a time.
STOPS = [a_stop(f"e{k}", 100, k) for k in range(3)] + [a_stop(f"w{k}", -100, k) for k in range(3)]


def _bike(**overrides) -> object:
    base = dict(capacity=Load(parcels=3, weight=100.0, volume=100.0), max_trips=3, reload_s=60.0)
    base.update(overrides)
    return a_vehicle("bike", **base)


def _problem(**bike) -> Problem:
    return a_problem(list(STOPS), [_bike(**bike)])


def test_one_vehicle_serves_more_than_one_load_in_several_trips():
    problem = _problem()
    result = solve_checked(problem, time_limit_s=2.0)
    assert not result.unassigned
    (route,) = result.routes
    trips = route.trips()
    assert len(trips) == 2
    # Each trip serves one cluster, so each is within capacity.
    for trip in trips:
        ids = {sid for v in route.visits[trip.first : trip.last] for sid in v.stop_ids}
        assert ids in ({"e0", "e1", "e2"}, {"w0", "w1", "w2"})
    (reload,) = route.reloads
    # Back at the depot after the first trip, leaving again after exactly the reload time.
    assert reload.departure - reload.arrival == pytest.approx(60.0)
    last_of_first = route.visits[trips[0].last - 1]
    assert reload.arrival >= last_of_first.departure + 100.0 - 1e-6
    assert route.visits[trips[1].first].arrival >= reload.departure + 100.0 - 1e-6
    assert reload.load.parcels == 3
    assert route.start_load.parcels == 3


def test_without_reloads_the_same_bike_leaves_half_out():
    result = solve_checked(_problem(max_trips=1), time_limit_s=2.0)
    assert len(result.unassigned) == 3
    assert {u.reason for u in result.unassigned} == {"capacity_short"}
    assert not result.routes[0].reloads


def test_the_shift_bounds_the_trips():
    # Out and back to one cluster takes about 200 s + service; two trips need about 520 s.
    result = solve_checked(_problem(shift=TimeWindow(0.0, 400.0)), time_limit_s=2.0)
    assert len(result.unassigned) == 3
    assert not result.routes[0].reloads


def test_ortools_alone_plans_single_trips_that_still_pass_the_checker():
    problem = _problem()
    result = plan(problem, time_limit_s=2.0, specs=[EngineSpec("ortools")])
    assert check_plan(problem, result).ok
    served = sum(len(r.stop_ids()) for r in result.routes)
    assert served >= 3


def _two_trip_plan() -> tuple[Problem, Plan]:
    problem = _problem()
    return problem, solve_checked(problem, time_limit_s=2.0)


def test_the_checker_refuses_a_plan_that_skips_the_reload_time():
    problem, result = _two_trip_plan()
    bad = copy.deepcopy(result)
    bad.routes[0].reloads[0].departure = bad.routes[0].reloads[0].arrival + 5.0
    violations = check_plan(problem, bad).violations
    assert any("reloads in 5.0 s" in v for v in violations), violations


def test_the_checker_refuses_a_plan_that_overloads_a_trip():
    problem, result = _two_trip_plan()
    bad = copy.deepcopy(result)
    bad.routes[0].reloads = []  # one trip carrying all six parcels
    violations = check_plan(problem, bad).violations
    assert any("over capacity" in v and "trip 1" in v for v in violations), violations


def test_the_checker_refuses_more_trips_than_the_vehicle_makes():
    _, result = _two_trip_plan()
    one_trip = a_problem(list(STOPS), [_bike(max_trips=1)])
    violations = check_plan(one_trip, result).violations
    assert any("2 trips, at most 1" in v for v in violations), violations


def test_the_checker_refuses_a_reload_reported_before_the_vehicle_is_back():
    problem, result = _two_trip_plan()
    bad = copy.deepcopy(result)
    r = bad.routes[0].reloads[0]
    r.arrival -= 50.0
    r.departure -= 50.0
    violations = check_plan(problem, bad).violations
    assert any("reports its reload" in v for v in violations), violations


def test_the_exact_timing_charges_the_way_back_and_the_reload():
    problem = _problem()
    inst = compile_problem(problem)
    east = [i for i, n in enumerate(inst.nodes) if n.stop_ids and n.stop_ids[0][0] == "e"]
    west = [i for i, n in enumerate(inst.nodes) if n.stop_ids and n.stop_ids[0][0] == "w"]
    seq = east + west
    one = simulate(inst, 0, seq)
    assert not one.feasible and "capacity" in (one.violation or "")
    two = simulate(inst, 0, seq, reloads=[3])
    assert two.feasible, two.violation
    (gap, back, leave, load) = two.reloads[0]
    assert gap == 3 and leave - back == pytest.approx(60.0) and load[0] == 3
    # Stops 2 apart in a cluster, 100 out and 100 back per trip, 10 s service each.
    assert two.distance == pytest.approx(2 * (100 + 2 + math.hypot(100, 2)))
    assert not simulate(inst, 0, seq, reloads=[1, 3, 5]).feasible  # four trips, three allowed


def test_a_problem_round_trips_max_trips_and_reload_time():
    problem = _problem()
    again = Problem.from_dict(problem.to_dict())
    assert again.vehicles[0].max_trips == 3
    assert again.vehicles[0].reload_s == 60.0
    result = solve_checked(problem, time_limit_s=2.0)
    assert Plan.from_dict(result.to_dict()).routes[0].reloads == result.routes[0].reloads


def test_a_fleet_far_too_small_still_gets_a_plan_of_what_fits():
    # Wages make this a real-depot problem (two PyVRP searches, no OR-Tools beside them on two
    # workers); with every prize above PyVRP's capped load penalty its best solutions overload
    # each bike, and its routes are cut to what fits instead of being thrown away.
    # Every other stop has two parcels: the most stops that fit are the one-parcel ones.
    stops = [
        a_stop(f"s{k}", 10 + 3 * (k % 6), 2 * (k // 6), demand=Load(parcels=1 + k % 2))
        for k in range(24)
    ]
    bikes = [
        a_vehicle(f"b{k}", capacity=Load(parcels=3, weight=100.0, volume=100.0), cost_per_hour=18.0)
        for k in range(2)
    ]
    problem = a_problem(stops, bikes)
    result = solve_checked(problem, time_limit_s=2.0)
    served = [sid for r in result.routes for sid in r.stop_ids()]
    assert len(served) == 6
    assert all(int(sid[1:]) % 2 == 0 for sid in served), served
    assert {u.reason for u in result.unassigned} == {"capacity_short"}


def test_pyvrp_starts_from_a_hint_that_reloads():
    # The partition's repair hands PyVRP its own routes back as a hint: their reloads too.
    problem = _problem()
    inst = compile_problem(problem)
    nodes = inst.service_nodes
    east = [i for i in nodes if inst.nodes[i].stop_ids[0][0] == "e"]
    west = [i for i in nodes if inst.nodes[i].stop_ids[0][0] == "w"]
    hint = [EngineRoute(0, east + west, None, None, [3])]
    result = solve_pyvrp(inst, nodes, deadline=time.monotonic() + 5, max_iterations=1, hint=hint)
    (route,) = result.routes
    assert sorted(route.nodes) == sorted(nodes) and route.reloads == [3]
    assert simulate(inst, 0, route.nodes, route.depart, route.break_gaps, route.reloads).feasible
