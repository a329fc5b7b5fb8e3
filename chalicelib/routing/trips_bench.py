"""`lastmile trips-bench`: cargo bikes of small loads serving many small parcels from a hub in a
city centre, planned with one trip per bike and with reloads at the hub; pyvroom beside them,
which plans one trip per vehicle (VROOM has no reloads). Every plan re-checked independently."""

from __future__ import annotations

import argparse
import json
import random
import time
from dataclasses import replace
from typing import Any

from chalicelib.routing.checker import check_plan
from chalicelib.routing.city import CENTRE, HOUR, offset
from chalicelib.routing.model import (
    PROFILES,
    Depot,
    Load,
    Plan,
    Problem,
    Stop,
    TimeWindow,
    Vehicle,
)
from chalicelib.routing.planner import plan

HUB = offset(CENTRE, -800.0, 600.0)  # a micro-hub a kilometre from the centre


def bike_problem(
    n_stops: int = 150,
    seed: int = 1,
    bikes: int = 4,
    capacity: int = 15,
    max_trips: int = 1,
    reload_s: float = 600.0,
) -> Problem:
    """Berlin's centre (Gaussian, about 2 km), 1-2 parcels of 0.3-4 kg per order, a third of
    them in a 2-hour slot between 09:00 and 15:00, 1 min + 20 s per parcel; bikes of
    `capacity` parcels on an 08:00-16:00 shift at a bike's costs (15 fixed, 0.02 per km,
    18 per hour). Times are seconds since midnight."""
    rng = random.Random(seed)
    stops = []
    for k in range(n_stops):
        location = offset(CENTRE, rng.gauss(0, 1800), rng.gauss(0, 2200))
        parcels = 1 if rng.random() < 0.8 else 2
        windows: tuple[TimeWindow, ...] = ()
        if rng.random() < 1 / 3:
            start = rng.choice((9, 11, 13)) * HOUR
            windows = (TimeWindow(start, start + 2 * HOUR),)
        stops.append(
            Stop(
                id=f"o{k + 1}",
                location=location,
                demand=Load(parcels=parcels, weight=round(parcels * rng.uniform(0.3, 4.0), 2)),
                windows=windows,
                service_base_s=60.0,
                service_per_parcel_s=20.0,
            )
        )
    fleet = tuple(
        Vehicle(
            id=f"bike{k + 1}",
            depot_id="hub",
            profile=PROFILES["cargo_bike"],
            capacity=Load(parcels=capacity, weight=120.0),
            shift=TimeWindow(8 * HOUR, 16 * HOUR),
            fixed_cost=15.0,
            cost_per_km=0.02,
            cost_per_hour=18.0,
            max_trips=max_trips,
            reload_s=reload_s,
        )
        for k in range(bikes)
    )
    return Problem((Depot("hub", HUB),), fleet, tuple(stops), travel="great_circle")


def _row(name: str, problem: Problem, result: Plan | None, seconds: float) -> dict[str, Any]:
    if result is None:
        return {"plan": name, "error": "no plan", "seconds": round(seconds, 1)}
    report = check_plan(problem, result)
    served = sum(len(r.stop_ids()) for r in result.routes)
    return {
        "plan": name,
        "served": served,
        "of": len(problem.stops),
        "bikes": len(result.routes),
        "trips": sum(len(r.trips()) for r in result.routes),
        "cost": round(result.cost, 2),
        "cost_per_order": round(result.cost / served, 3) if served else None,
        "km": round(report.distance / 1000.0, 1),
        "seconds": round(seconds, 1),
        "checked": "ok" if report.ok else f"FAIL {report.violations[:2]}",
    }


def run_trips_bench(
    *,
    stops: int,
    seed: int,
    bikes: int,
    capacity: int,
    trips: int,
    reload_minutes: float,
    time_limit: float,
    vroom: bool,
    exploration: int,
    workers: int,
) -> list[dict[str, Any]]:
    one = bike_problem(stops, seed, bikes, capacity, 1, reload_minutes * 60.0)
    rows = []
    for max_trips in (1, trips):
        problem = replace(
            one, vehicles=tuple(replace(v, max_trips=max_trips) for v in one.vehicles)
        )
        started = time.monotonic()
        result = plan(problem, time_limit_s=time_limit, seed=0, workers=workers)
        rows.append(
            _row(f"lastmile, max_trips={max_trips}", problem, result, time.monotonic() - started)
        )
        print(json.dumps(rows[-1]), flush=True)
    if vroom:
        from chalicelib.routing.vroom_baseline import solve_vroom

        run = solve_vroom(one, time_limit_s=time_limit, exploration=exploration, threads=workers)
        rows.append(_row("pyvroom (one trip: no reloads)", one, run.plan, run.seconds))
        print(json.dumps(rows[-1]), flush=True)
    return rows


def render(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| plan | served | bikes | trips | cost | cost per order | km | s | checked |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['plan']} | {r['error']} | | | | | | {r['seconds']} | |")
            continue
        lines.append(
            f"| {r['plan']} | {r['served']} / {r['of']} | {r['bikes']} | {r['trips']}"
            f" | {r['cost']} | {r['cost_per_order']} | {r['km']} | {r['seconds']}"
            f" | {r['checked']} |"
        )
    return "\n".join(lines)


def trips_bench_command(args: argparse.Namespace) -> int:
    from chalicelib.routing.vroom_baseline import baseline_wanted

    rows = run_trips_bench(
        stops=args.stops,
        seed=args.seed,
        bikes=args.bikes,
        capacity=args.capacity,
        trips=args.trips,
        reload_minutes=args.reload_minutes,
        time_limit=args.time_limit,
        vroom=baseline_wanted(args.no_vroom, "trips-bench"),
        exploration=args.exploration,
        workers=args.workers,
    )
    print(render(rows))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    bench = subparsers.add_parser(
        "trips-bench", help="cargo bikes with one trip against bikes that reload"
    )
    bench.add_argument("--stops", type=int, default=150)
    bench.add_argument("--seed", type=int, default=1)
    bench.add_argument("--bikes", type=int, default=4)
    bench.add_argument("--capacity", type=int, default=15, help="parcels per load")
    bench.add_argument("--trips", type=int, default=3, help="max_trips of the second plan")
    bench.add_argument("--reload-minutes", type=float, default=10.0)
    bench.add_argument("--time-limit", type=float, default=30.0, help="seconds per plan")
    bench.add_argument("--no-vroom", action="store_true", help="skip the pyvroom baseline")
    bench.add_argument("--exploration", type=int, default=5, help="pyvroom exploration level")
    bench.add_argument("--workers", type=int, default=2, help="processes per plan")
    bench.set_defaults(func=trips_bench_command)
