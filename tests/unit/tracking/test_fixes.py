"""Which phone clocks and GPS fixes the ETAs may trust."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.domain.dispatch import Fix, PlannedRoute, RouteStop
from chalicelib.domain.times import iso_z
from chalicelib.tracking.fixes import clock_problem, fix_problem, kept_ignored

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def a_route(last_fix: Fix | None = None) -> PlannedRoute:
    stop = RouteStop("ord_1", "delivery", iso_z(NOW), 51.52, -0.10, 120.0)
    return PlannedRoute(
        "rte_a_000",
        "run_a",
        "dep",
        "van-0",
        "van",
        iso_z(NOW),
        51.5,
        -0.12,
        0.0,
        0.0,
        (stop,),
        last_fix=last_fix,
    )


def test_a_clock_ahead_or_far_behind_is_not_trusted() -> None:
    assert clock_problem(NOW + timedelta(minutes=4), NOW, fix=True) is None
    assert clock_problem(NOW + timedelta(minutes=6), NOW, fix=True) == "clock_ahead"
    year_9999 = datetime(9999, 12, 31, 23, 59, tzinfo=UTC)
    assert clock_problem(year_9999, NOW, fix=False) == "clock_ahead"
    assert clock_problem(NOW - timedelta(minutes=20), NOW, fix=True) == "clock_behind"
    assert clock_problem(NOW - timedelta(hours=2), NOW, fix=False) is None, "buffered offline"
    assert clock_problem(NOW - timedelta(hours=13), NOW, fix=False) == "clock_behind"


def test_fixes_nowhere_near_the_van_are_not_trusted() -> None:
    route = a_route()
    assert fix_problem(route, 51.51, -0.11, NOW) is None
    assert fix_problem(route, 0.0, 0.0, NOW) == "null_island"
    assert fix_problem(route, 55.95, -3.19, NOW) == "outside_area"

    moving = a_route(Fix(51.51, -0.11, iso_z(NOW), iso_z(NOW)))
    assert fix_problem(moving, 51.52, -0.10, NOW + timedelta(seconds=30)) is None
    assert fix_problem(moving, 51.78, -0.11, NOW + timedelta(seconds=10)) == "impossible_jump"
    assert fix_problem(moving, 51.78, -0.11, NOW + timedelta(hours=1)) is None, "it drove there"
    assert fix_problem(moving, 51.51, -0.11, NOW - timedelta(seconds=1)) == "out_of_order"


def test_the_record_of_ignored_fixes_is_bounded() -> None:
    route = a_route()
    for n in range(30):
        route = PlannedRoute(
            **{**route.__dict__, "ignored_fixes": kept_ignored(route, Fix(0, 0, str(n), "t"))}
        )
    assert len(route.ignored_fixes) == 20 and route.ignored_fixes[-1].at == "29"
