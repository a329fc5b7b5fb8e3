"""What real depots have, planned by PyVRP exactly: several windows, skills, ranges, costs
per hour and per vehicle type, drivers' breaks; the fallback that inserts what an engine
left out, and the true reason for what stays out."""

from __future__ import annotations

import subprocess
import sys

import pytest

from chalicelib.routing.checker import check_plan
from chalicelib.routing.diagnosis import servability
from chalicelib.routing.insertion import insert_left_out
from chalicelib.routing.instance import compile_problem
from chalicelib.routing.model import Break, Depot, Load, TimeWindow
from chalicelib.routing.partition import share_vehicles, sweep_parts
from chalicelib.routing.planner import EngineSpec, plan
from chalicelib.routing.pyvrp_engine import BreakFold, virtual_windows
from chalicelib.routing.realistic import FRIDGE, LUNCH, realistic_problem
from chalicelib.routing.solution import EngineResult
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

PYVRP = [EngineSpec("pyvrp", max_iterations=300)]


def test_a_two_window_stop_is_served_in_its_second_window_by_pyvrp():
    # "far" is 100 away: its first window closes before anyone can get there.
    problem = a_problem(
        [
            a_stop("far", 100, 0, windows=(TimeWindow(0, 20), TimeWindow(300, 400))),
            a_stop("near", 10, 0, windows=window(0, 50)),
        ]
    )
    result = solve_checked(problem, time_limit_s=3.0, specs=PYVRP)
    assert result.engine == "pyvrp"
    _, visit = visit_of(result, "far")
    assert 300 <= visit.start <= 400


def test_a_fridge_stop_never_rides_on_a_vehicle_without_a_fridge():
    # The plain van costs 1 per unit of distance, the fridge van 5 (and 50 to use): the
    # ice must still go by fridge van, the box, the other way, by the plain one.
    plain = a_vehicle("plain", cost_per_km=1000.0)
    cold = a_vehicle("cold", skills=frozenset({FRIDGE}), cost_per_km=5000.0, fixed_cost=50.0)
    problem = a_problem(
        [a_stop("ice", 10, 0, skills=frozenset({FRIDGE})), a_stop("box", -10, 0)],
        vehicles=[plain, cold],
    )
    result = solve_checked(problem, time_limit_s=3.0, specs=PYVRP)
    assert result.engine == "pyvrp"
    assert route_of(result, "cold") == ["ice"]
    assert route_of(result, "plain") == ["box"]


def test_a_bike_never_rides_beyond_its_range_and_the_van_takes_the_far_stop():
    bike = a_vehicle("bike", max_distance_m=50.0, cost_per_km=0.1)
    van = a_vehicle("van", cost_per_km=10.0)
    problem = a_problem([a_stop("close", 10, 0), a_stop("far", 0, 40)], vehicles=[bike, van])
    result = solve_checked(problem, time_limit_s=3.0, specs=PYVRP)
    assert result.engine == "pyvrp"
    assert route_of(result, "bike") == ["close"] and route_of(result, "van") == ["far"]
    assert all(r.distance_m <= 50.0 for r in result.routes if r.vehicle_id == "bike")


def test_wages_and_costs_per_vehicle_type_pick_the_cheaper_vehicle_and_are_costed():
    # Same road, same stop: the slow-paid driver with the dearer van costs less per hour.
    hourly = a_vehicle("hourly", cost_per_km=0.0, cost_per_hour=3600.0)
    per_km = a_vehicle("per_km", cost_per_km=1000.0, fixed_cost=5.0)
    problem = a_problem([a_stop("a", 30, 0, windows=window(0, 500))], vehicles=[hourly, per_km])
    result = solve_checked(problem, time_limit_s=3.0, specs=PYVRP)
    assert result.engine == "pyvrp"
    (route,) = result.routes
    # hourly: 60 s out and back + 10 s service at 1 per s = 70; per_km: 5 + 60 m at 1/m = 65.
    assert route.vehicle_id == "per_km"
    assert result.cost == pytest.approx(65.0)


def test_virtual_windows_cut_the_break_out_of_the_timeline():
    fold = BreakFold(at=100.0, duration=30.0, latest=150.0)
    assert virtual_windows((), fold) == [None]
    # Before the break: unchanged; after: 30 earlier; straddling: both parts.
    assert virtual_windows((TimeWindow(0, 50),), fold) == [(0, 50)]
    assert virtual_windows((TimeWindow(200, 260),), fold) == [(170, 230)]
    assert virtual_windows((TimeWindow(80, 160),), fold) == [(80, 100), (100, 130)]
    # A window that only fits a break elsewhere has no place in this timeline.
    assert virtual_windows((TimeWindow(105, 125),), fold) == []


def test_breaks_are_planned_by_pyvrp_inside_their_window_on_a_real_depot():
    problem = realistic_problem(40, seed=3)
    result = plan(problem, time_limit_s=3.0, specs=PYVRP)
    report = check_plan(problem, result)
    assert report.ok, report.violations
    assert result.engine == "pyvrp" and not result.unassigned
    on_the_road = [r for r in result.routes if r.start < LUNCH.latest and r.end > LUNCH.earliest]
    assert on_the_road
    for route in on_the_road:
        (brk,) = route.breaks
        assert LUNCH.earliest <= brk.start <= LUNCH.latest
        assert brk.duration == LUNCH.duration
    fleet = {v.id: v for v in problem.vehicles}
    stops = {s.id: s for s in problem.stops}
    for route in result.routes:
        for sid in route.stop_ids():
            assert stops[sid].skills <= fleet[route.vehicle_id].skills


def test_the_realistic_generator_follows_its_specification():
    problem = realistic_problem(400, seed=1)
    assert problem == realistic_problem(400, seed=1)
    kinds = {v.id.rstrip("0123456789") for v in problem.vehicles}
    assert kinds == {"van", "fridge", "bike"}
    assert all(v.breaks == (LUNCH,) for v in problem.vehicles)
    bikes = [v for v in problem.vehicles if v.id.startswith("bike")]
    assert all(b.distance_limit == 40_000.0 and b.weight_capacity == 150.0 for b in bikes)
    fridge = sum(1 for s in problem.stops if FRIDGE in s.skills) / len(problem.stops)
    two = sum(1 for s in problem.stops if len(s.windows) == 2) / len(problem.stops)
    assert 0.06 < fridge < 0.14 and 0.06 < two < 0.14
    capacity = sum(v.capacity.parcels for v in problem.vehicles)
    demand = sum(s.demand.parcels for s in problem.stops)
    assert 1.6 < capacity / demand < 2.4


def test_the_fallback_inserts_a_stop_an_engine_left_out():
    problem = a_problem([a_stop("a", 10, 0), a_stop("b", 12, 0), a_stop("c", 0, 15)])
    inst = compile_problem(problem)
    serv = servability(inst)
    nodes = sorted(serv.allowed)
    a, b, c = nodes
    partial = EngineResult("test", [])
    filled = insert_left_out(inst, partial, nodes, serv.allowed, deadline=float("inf"))
    assert sorted(i for r in filled.routes for i in r.nodes) == [a, b, c]
    assert filled.stats["inserted"] == 3


def test_a_stop_left_out_for_lack_of_time_says_time_not_capacity():
    # Both stops are servable alone within the shift, not both; the van has room for ten.
    van = a_vehicle(shift=TimeWindow(0.0, 130.0))
    problem = a_problem(
        [
            a_stop("east", 50, 0, priority=1),
            a_stop("west", -50, 0),
        ],
        vehicles=[van],
    )
    result = solve_checked(problem)
    assert reasons(result) == {"west": "time_short"}
    full = a_problem(
        [a_stop("big", 5, 0, demand=Load(parcels=10), priority=1), a_stop("small", 6, 0)]
    )
    assert reasons(solve_checked(full)) == {"small": "capacity_short"}


def test_a_break_left_out_of_pyvrp_by_a_different_break_is_still_exact():
    # Two drivers with different breaks: PyVRP plans with the shift shortened instead, and
    # the re-timing places each break; the plan still passes the checker.
    early = a_vehicle("early", breaks=(Break(100, 200, 30),))
    late = a_vehicle("late", breaks=(Break(400, 500, 30),))
    stops = [a_stop(f"s{k}", 10 * k, 5, windows=window(0, 900)) for k in range(1, 6)]
    result = solve_checked(a_problem(stops, vehicles=[early, late]), time_limit_s=3.0, specs=PYVRP)
    assert not result.unassigned


def test_planner_and_partition_import_without_a_circle():
    code = (
        "import sys, chalicelib.routing.partition\n"
        "assert 'chalicelib.routing.planner' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_ortools_starts_from_pyvrps_relaxed_plan_where_pyvrp_cannot_express_a_pickup():
    # The return goes to the other depot, which PyVRP cannot express: it plans the
    # deliveries, OR-Tools starts from that and adds the return.
    van = a_vehicle("van", depot_id="d1")
    problem = a_problem(
        [
            a_stop("a", 10, 0),
            a_stop("b", 20, 0),
            a_stop("c", 20, 10),
            a_stop("ret", 30, 0, kind="pickup", drop_depot_id="d2"),
        ],
        vehicles=[van],
        depots=(Depot("d1", at(0, 0)), Depot("d2", at(40, 0))),
    )
    result = solve_checked(problem, time_limit_s=3.0)
    assert result.stats["relaxed"]["nodes"] == 3
    assert result.engine == "ortools" and not result.unassigned
    kinds = [v.kind for v in result.routes[0].visits]
    assert kinds.index("drop") > [v.stop_ids for v in result.routes[0].visits].index(["ret"])


def test_every_part_of_a_large_problem_gets_its_share_of_every_kind_of_vehicle():
    problem = realistic_problem(1300, seed=1)
    inst = compile_problem(problem)
    serv = servability(inst)
    nodes = sorted(serv.allowed)
    parts = sweep_parts(inst, nodes, 3)
    shares = share_vehicles(inst, parts, list(range(len(inst.vehicles))))
    assert sorted(v for share in shares for v in share) == list(range(len(inst.vehicles)))
    for share in shares:
        kinds = {inst.vehicles[v].id.rstrip("0123456789") for v in share}
        assert kinds == {"van", "fridge", "bike"}
