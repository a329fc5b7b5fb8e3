"""The checker catches every broken promise a plan can make."""

from __future__ import annotations

import copy

from chalicelib.routing.checker import check_plan
from chalicelib.routing.model import Break, Load, Plan
from tests.unit.routing.scenarios import a_problem, a_stop, a_vehicle, solve_checked, window


def _problem():
    return a_problem(
        [
            a_stop("a", 10, 0, windows=window(0, 50)),
            a_stop("b", 20, 0, windows=window(0, 500)),
            a_stop("c", 20, 10, demand=Load(parcels=2), skills=frozenset({"x"})),
        ],
        vehicles=[a_vehicle(capacity=Load(parcels=4), skills=frozenset({"x"}))],
    )


def _tampered(plan: Plan, change) -> Plan:
    other = copy.deepcopy(plan)
    change(other)
    return other


def test_a_good_plan_passes():
    problem = _problem()
    result = solve_checked(problem)
    assert check_plan(problem, result).ok


def test_late_service_is_caught_when_the_order_is_reversed():
    problem = _problem()
    result = solve_checked(problem)
    bad = _tampered(result, lambda p: p.routes[0].visits.reverse())
    report = check_plan(problem, bad)
    assert any("window" in v for v in report.violations), report.violations


def test_missing_and_duplicated_stops_are_caught():
    problem = _problem()
    result = solve_checked(problem)
    dropped = _tampered(result, lambda p: p.routes[0].visits.pop())
    assert any("neither routed" in v for v in check_plan(problem, dropped).violations)
    doubled = _tampered(result, lambda p: p.routes[0].visits.append(p.routes[0].visits[0]))
    assert any("twice" in v for v in check_plan(problem, doubled).violations)


def test_capacity_skills_shift_and_breaks_are_caught():
    problem = _problem()
    result = solve_checked(problem)
    small = a_problem(list(problem.stops), [a_vehicle(capacity=Load(parcels=3))])
    violations = check_plan(small, result).violations
    assert any("capacity" in v for v in violations)
    assert any("skills" in v for v in violations)
    short = a_problem(
        list(problem.stops),
        [
            a_vehicle(
                capacity=Load(parcels=4),
                skills=frozenset({"x"}),
                shift=problem.vehicles[0].shift.__class__(0, 40),
            )
        ],
    )
    assert any("shift" in v for v in check_plan(short, result).violations)
    owed = a_problem(
        list(problem.stops),
        [a_vehicle(capacity=Load(parcels=4), skills=frozenset({"x"}), breaks=(Break(0, 10, 5),))],
    )
    assert any("break" in v for v in check_plan(owed, result).violations)


def test_misreported_distance_is_caught():
    problem = _problem()
    result = solve_checked(problem)
    bad = _tampered(result, lambda p: setattr(p, "distance_m", p.distance_m - 1))
    assert any("reports" in v for v in check_plan(problem, bad).violations)
