"""The `solve` and `bench` subcommands of `lastmile`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from chalicelib.routing.checker import check_plan
from chalicelib.routing.planner import plan
from chalicelib.routing.solomon import read_solomon


def solve_command(args: argparse.Namespace) -> int:
    instance = read_solomon(args.file)
    problem = instance.to_problem()
    result = plan(problem, time_limit_s=args.time_limit, seed=args.seed, workers=args.workers)
    report = check_plan(problem, result)
    if not report.ok:
        print(json.dumps({"error": "plan failed the check", "violations": report.violations}))
        return 2
    routes = [[int(v.stop_ids[0]) for v in r.visits] for r in result.routes]
    out = {"vehicles": len(routes), "distance": round(report.distance, 4), "routes": routes}
    print(json.dumps(out))
    return 0 if not result.unassigned else 1


def bench_command(args: argparse.Namespace) -> int:
    from chalicelib.routing.bench import render_saved, run_bench
    from chalicelib.routing.vroom_baseline import baseline_wanted

    if args.from_json:
        print(render_saved(Path(args.from_json), Path(args.data)))
        return 0

    table = run_bench(
        suite=args.suite,
        pattern=args.instances,
        time_limit=args.time_limit,
        jobs=args.jobs,
        vroom=baseline_wanted(args.no_vroom, "bench"),
        exploration=args.exploration,
        workers=args.workers,
        vroom_limit=args.vroom_time_limit,
        sizes=[int(x) for x in args.city_sizes.split(",") if x],
        realistic=args.realistic_cases,
        data=Path(args.data),
        out=Path(args.out) if args.out else None,
    )
    print(table)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    solve = subparsers.add_parser("solve", help="solve a Solomon-format VRPTW instance")
    solve.add_argument("file")
    solve.add_argument("--time-limit", type=float, default=10.0, help="seconds, wall clock")
    solve.add_argument("--seed", type=int, default=0)
    solve.add_argument("--workers", type=int, default=2, help="parallel engine processes")
    solve.set_defaults(func=solve_command)

    from chalicelib.routing.bench import DEFAULT_DATA, REALISTIC_CASES

    bench = subparsers.add_parser("bench", help="benchmark the planner against pyvroom")
    bench.add_argument(
        "--suite",
        choices=("solomon", "homberger200", "homberger400", "city", "realistic", "all"),
        default="all",
    )
    bench.add_argument("--instances", help="glob on instance names, e.g. 'R1*'")
    bench.add_argument("--time-limit", type=float, help="seconds per instance (default per suite)")
    bench.add_argument("--jobs", type=int, default=1, help="instances run at once")
    bench.add_argument("--workers", type=int, default=2, help="processes per instance")
    bench.add_argument("--no-vroom", action="store_true", help="skip the pyvroom baseline")
    bench.add_argument(
        "--vroom-time-limit", type=float, help="pyvroom's budget if not the same as ours"
    )
    bench.add_argument("--exploration", type=int, default=5, help="pyvroom exploration level")
    bench.add_argument("--city-sizes", default="200,1000,5000")
    bench.add_argument(
        "--realistic-cases", default=REALISTIC_CASES, help="stops:seed pairs, comma-separated"
    )
    bench.add_argument(
        "--data", default=str(DEFAULT_DATA), help="VRPTW folder (default: the repository's)"
    )
    bench.add_argument("--out", help="also write the rows as JSON to this file")
    bench.add_argument("--from-json", help="only print the table of rows saved with --out")
    bench.set_defaults(func=bench_command)

    from chalicelib.routing.trips_bench import register as register_trips_bench

    register_trips_bench(subparsers)
