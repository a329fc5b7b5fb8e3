"""Builders of small hand-checkable problems on a plane (Euclidean travel: one unit of
distance takes one second), so expected times can be worked out by hand."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from chalicelib.routing.checker import check_plan
from chalicelib.routing.model import (
    Depot,
    Load,
    Location,
    Problem,
    Stop,
    TimeWindow,
    Vehicle,
    VehicleProfile,
)
from chalicelib.routing.planner import plan

PLANE = VehicleProfile("plane", speed_kmh=3.6)


def at(x: float, y: float) -> Location:
    return Location(lat=y, lon=x)


def a_stop(sid: str, x: float, y: float, **overrides: Any) -> Stop:
    base = Stop(
        id=sid,
        location=at(x, y),
        demand=Load(parcels=1),
        service_base_s=10.0,
        service_per_parcel_s=0.0,
    )
    return replace(base, **overrides)


def a_vehicle(vid: str = "v1", **overrides: Any) -> Vehicle:
    base = Vehicle(
        id=vid,
        depot_id="d1",
        profile=PLANE,
        capacity=Load(parcels=10, weight=100.0, volume=100.0),
        shift=TimeWindow(0.0, 1000.0),
    )
    return replace(base, **overrides)


def a_problem(
    stops: list[Stop], vehicles: list[Vehicle] | None = None, **overrides: Any
) -> Problem:
    base = Problem(
        depots=(Depot("d1", at(0, 0)),),
        vehicles=tuple(vehicles or [a_vehicle()]),
        stops=tuple(stops),
        travel="euclidean",
    )
    return replace(base, **overrides)


def window(start: float, end: float) -> tuple[TimeWindow, ...]:
    return (TimeWindow(start, end),)


def solve_checked(problem: Problem, time_limit_s: float = 1.0, **kwargs: Any):
    """Plan, then insist the independent checker accepts the plan."""
    result = plan(problem, time_limit_s=time_limit_s, **kwargs)
    report = check_plan(problem, result)
    assert report.ok, report.violations
    return result


def reasons(result) -> dict[str, str]:
    return {u.stop_id: u.reason for u in result.unassigned}


def route_of(result, vehicle_id: str) -> list[str]:
    for r in result.routes:
        if r.vehicle_id == vehicle_id:
            return [sid for v in r.visits for sid in v.stop_ids if v.kind != "drop"]
    return []


def visit_of(result, stop_id: str):
    for r in result.routes:
        for v in r.visits:
            if stop_id in v.stop_ids and v.kind != "drop":
                return r, v
    raise AssertionError(f"{stop_id} is not routed")
