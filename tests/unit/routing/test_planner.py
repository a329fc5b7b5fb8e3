"""Planner-level behaviour: serialisation, errors, determinism, the hard time limit."""

from __future__ import annotations

import json
import time

import pytest

from chalicelib.routing.city import city_problem
from chalicelib.routing.errors import InvalidProblem, RoutingError, SolverError
from chalicelib.routing.model import Break, Load, Locker, Plan, Problem, SlowdownPeriod
from chalicelib.routing.ortools_engine import OrToolsConfig
from chalicelib.routing.planner import EngineSpec, plan
from tests.unit.routing.scenarios import a_problem, a_stop, a_vehicle, at, solve_checked, window


def _rich_problem() -> Problem:
    return a_problem(
        [
            a_stop("a", 10, 0, windows=window(0, 300), priority=2, skills=frozenset({"x"})),
            a_stop("p", 5, 5, kind="pickup", demand=Load(parcels=1, weight=2.5)),
            a_stop("l", 0, 0, kind="locker", locker_id="L", parcel_sizes=("M",)),
        ],
        vehicles=[a_vehicle(skills=frozenset({"x"}), breaks=(Break(10, 500, 15),))],
        lockers=(Locker("L", at(0, 20), free={"L": 2}),),
        traffic=(SlowdownPeriod(0, 100, 1.2),),
    )


def test_problem_and_plan_survive_a_json_round_trip():
    problem = _rich_problem()
    assert Problem.from_dict(json.loads(json.dumps(problem.to_dict()))) == problem
    result = solve_checked(problem)
    again = Plan.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again.to_dict() == result.to_dict()


def test_bad_input_raises_meaningful_errors():
    with pytest.raises(InvalidProblem):
        plan(a_problem([a_stop("a", 1, 1)], [a_vehicle(depot_id="nowhere")]), time_limit_s=1)
    with pytest.raises(InvalidProblem):
        plan(a_problem([a_stop("a", 1, 1), a_stop("a", 2, 2)]), time_limit_s=1)
    assert issubclass(SolverError, RoutingError)


def test_same_seed_same_plan_on_a_work_limit():
    problem = city_problem(40, seed=3)
    specs = [EngineSpec("ortools", ortools=OrToolsConfig(solution_limit=200))]
    first = plan(problem, time_limit_s=8, seed=7, specs=specs)
    second = plan(problem, time_limit_s=8, seed=7, specs=specs)
    assert [r.stop_ids() for r in first.routes] == [r.stop_ids() for r in second.routes]
    pyvrp_specs = [EngineSpec("pyvrp", seed=7, max_iterations=300)]
    third = plan(problem, time_limit_s=8, specs=pyvrp_specs)
    fourth = plan(problem, time_limit_s=8, specs=pyvrp_specs)
    assert [r.stop_ids() for r in third.routes] == [r.stop_ids() for r in fourth.routes]


def test_the_time_limit_is_a_hard_wall_clock_limit_on_a_large_instance():
    problem = city_problem(1500, seed=5)
    started = time.monotonic()
    result = plan(problem, time_limit_s=6.0)
    elapsed = time.monotonic() - started
    assert elapsed <= 6.0 + 2.0
    routed = sum(len(r.stop_ids()) for r in result.routes)
    assert routed + len(result.unassigned) == 1500


def test_partitioning_keeps_each_stop_with_a_nearby_depot_and_the_plan_feasible():
    from dataclasses import replace

    from chalicelib.routing.checker import check_plan
    from chalicelib.routing.model import Depot, Location

    city = city_problem(300, seed=11)
    west = Depot("west", Location(52.52, 13.25))
    east = Depot("east", Location(52.52, 13.56))
    vans = [replace(v, depot_id="west" if k % 2 else "east") for k, v in enumerate(city.vehicles)]
    problem = replace(city, depots=(west, east), vehicles=tuple(vans))
    result = plan(problem, time_limit_s=8.0, partition_above=100)
    report = check_plan(problem, result)
    assert report.ok, report.violations
    assert result.stats["parts"] >= 2
    depot_of = {v.id: v.depot_id for v in vans}
    stops = {s.id: s for s in problem.stops}
    for route in result.routes:
        home = west if depot_of[route.vehicle_id] == "west" else east
        other = east if home is west else west
        # Stops go to the nearer depot's vans: west of the midpoint for west, east for east.
        for sid in route.stop_ids():
            lon = stops[sid].location.lon
            assert abs(lon - home.location.lon) <= abs(lon - other.location.lon) + 1e-9
    assert sum(len(r.stop_ids()) for r in result.routes) + len(result.unassigned) == 300
