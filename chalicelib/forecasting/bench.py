"""`lastmile forecast-bench`: the model's rolling-origin backtest, 7 days ahead from each of
the last N weeks, on a generated year of history and on any real export (`--csv date,orders`),
MASE next to the seasonal-naive baseline's and the target (at least 20% lower)."""

from __future__ import annotations

import argparse
import csv
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from chalicelib.forecasting.backtest import TARGET_RATIO, Backtest, rolling_origin, synthetic_year
from chalicelib.forecasting.model import MODEL, holiday_calendar, no_holidays


def read_series(path: Path) -> tuple[date, list[float]]:
    """A `date,orders` CSV (a header row allowed, days in any order, missing days are 0)."""
    counts: dict[date, float] = {}
    with path.open(newline="") as f:
        for row in csv.reader(f):
            if not row or row[0].strip().lower() == "date":
                continue
            counts[date.fromisoformat(row[0].strip())] = float(row[1])
    if not counts:
        raise SystemExit(f"{path}: no rows of date,orders")
    first, last = min(counts), max(counts)
    n = (last - first).days + 1
    return first, [counts.get(first + timedelta(days=i), 0.0) for i in range(n)]


def _line(name: str, result: Backtest | None) -> str:
    if result is None:
        return f"{name}: history too short for one 7-day origin after 14 days of fitting"
    verdict = "meets" if result.ratio <= TARGET_RATIO else "MISSES"
    return (
        f"{name}: MASE {result.mase:.3f}  baseline (seasonal naive) {result.baseline_mase:.3f}  "
        f"ratio {result.ratio:.2f}  target <= {TARGET_RATIO:.2f}: {verdict}  "
        f"({result.origins} origins)"
    )


def run(args: argparse.Namespace) -> int:
    print(f"model {MODEL}; rolling origin, 7 days ahead, last {args.weeks} weeks")
    start, orders, holiday = synthetic_year(seed=args.seed)
    print(
        _line(
            f"generated year (seed {args.seed}, {len(orders)} days)",
            rolling_origin(start, orders, weeks=args.weeks, holiday=holiday),
        )
    )
    if args.csv:
        first, series = read_series(Path(args.csv))
        years = range(first.year, first.year + len(series) // 365 + 2)
        calendar = holiday_calendar(args.country, years) if args.country else no_holidays
        result = rolling_origin(first, series, weeks=args.weeks, holiday=calendar)
        print(_line(f"{args.csv} ({len(series)} days)", result))
    return 0


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "forecast-bench",
        help="the demand forecast's 7-day backtest: MASE against the seasonal-naive baseline's",
    )
    parser.add_argument("--weeks", type=int, default=8, help="origins, a week apart (8)")
    parser.add_argument("--seed", type=int, default=7, help="the generated history's seed")
    parser.add_argument("--csv", help="a real export: date,orders a row")
    parser.add_argument("--country", help="ISO country of the CSV's holidays (none if unset)")
    parser.set_defaults(func=run)
