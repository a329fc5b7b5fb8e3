"""The dispatch store against moto: routes, left-out pages and the depot's lock read back as
written, and their conditions hold."""

from __future__ import annotations

import secrets
from dataclasses import replace

import pytest

from chalicelib import bootstrap
from chalicelib.domain.dispatch import PlannedRoute, RouteStop, Run, RunStatus, route_id_for
from chalicelib.domain.errors import ConcurrentUpdate
from chalicelib.store.dispatch import UNASSIGNED_PER_ITEM

pytestmark = pytest.mark.usefixtures("aws")


def a_run(depot_id: str | None = None) -> Run:
    return Run(
        "run_" + secrets.token_hex(8),
        depot_id or "dep_" + secrets.token_hex(6),
        RunStatus.RUNNING,
        "manual",
        "2026-11-23T08:00:00Z",
    )


def a_route(run: Run) -> PlannedRoute:
    stops = (
        RouteStop("ord_1", "delivery", "2026-11-23T09:00:00Z", 51.5, -0.1, 120.0),
        RouteStop(
            "ord_2",
            "locker",
            "2026-11-23T09:20:00Z",
            51.51,
            -0.12,
            60.5,
            earliest="2026-11-23T09:15:00Z",
            locker_id="lkr_1",
            state="done",
            planned_eta="2026-11-23T09:10:00Z",
            delay_announced=True,
        ),
    )
    return PlannedRoute(
        route_id_for(run.run_id, 0),
        run.run_id,
        run.depot_id,
        "van-1",
        "van",
        "2026-11-23T08:30:00Z",
        51.5,
        -0.13,
        12345.5,
        3600.25,
        stops,
        version=2,
    )


def test_a_route_reads_back_as_written_and_is_replaced_only_from_its_version() -> None:
    repo = bootstrap.dispatch_repository()
    route = a_route(a_run())
    repo.put_route(route)

    assert repo.get_route(route.route_id) == route

    with pytest.raises(ConcurrentUpdate):
        repo.replace_route(route, expected_version=1)
    moved = replace(route, stops=route.stops[1:], version=3)
    repo.replace_route(moved, expected_version=2)
    assert repo.get_route(route.route_id) == moved


def test_a_runs_left_out_orders_span_pages_and_come_back_in_order() -> None:
    repo = bootstrap.dispatch_repository()
    run = a_run()
    assert repo.begin(run, now=1000, lease_until=2000) == run.run_id
    left_out = {f"ord_{n:04d}": f"reason {n}" for n in range(UNASSIGNED_PER_ITEM + 3)}
    repo.put_unassigned(run.run_id, left_out)
    repo.put_route(a_route(run))

    found = repo.run_with_results(run.run_id)

    assert found is not None
    stored, routes, unassigned = found
    assert stored == run and routes == [a_route(run)]
    assert list(unassigned.items()) == list(left_out.items())


def test_a_depot_has_one_run_until_it_ends_or_its_lease_runs_out() -> None:
    repo = bootstrap.dispatch_repository()
    first = a_run()
    second = a_run(first.depot_id)
    assert repo.begin(first, now=1000, lease_until=2000) == first.run_id

    assert repo.begin(second, now=1500, lease_until=3500) == first.run_id
    assert repo.get_run(second.run_id) is None, "a refused run is not recorded"
    repo.end(first.depot_id, second.run_id)  # not the holder: changes nothing
    assert repo.active_run(first.depot_id, 1500) == first.run_id
    assert repo.active_run(first.depot_id, 2001) is None, "the lease ran out"

    assert repo.begin(second, now=2001, lease_until=4000) == second.run_id
    assert repo.settle(second.run_id, RunStatus.SUCCEEDED, "2026-11-23T09:00:00Z")
    assert not repo.settle(second.run_id, RunStatus.FAILED, "2026-11-23T09:01:00Z")
    repo.end(first.depot_id, second.run_id)
    assert repo.active_run(first.depot_id, 2001) is None
    third = a_run(first.depot_id)
    assert repo.begin(third, now=2001, lease_until=4000) == third.run_id, "the depot is free"
