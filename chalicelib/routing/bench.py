"""`lastmile bench`: our planner against pyvroom with the same time budget on Solomon,
Gehring & Homberger, generated city and real-depot instances; every plan re-checked
independently."""

from __future__ import annotations

import csv
import fnmatch
import json
import os
import statistics
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from chalicelib.routing.checker import check_plan
from chalicelib.routing.city import city_problem
from chalicelib.routing.model import Problem
from chalicelib.routing.planner import plan
from chalicelib.routing.realistic import realistic_problem
from chalicelib.routing.solomon import read_solomon

# The instances live in the repository (benchmarks/vrptw, beside chalicelib/): a clone or an
# editable install finds them; LASTMILE_VRPTW_DATA or --data points elsewhere.
REPO_DATA = Path(__file__).resolve().parents[2] / "benchmarks" / "vrptw"
DEFAULT_DATA = Path(os.environ.get("LASTMILE_VRPTW_DATA", str(REPO_DATA)))
DISTANCE_ONLY = ("distance_only_double2dp", "distance_only_double_recomputed")
SUITE_TIME = {"solomon": 10.0, "homberger200": 20.0, "homberger400": 40.0, "city": 30.0}
SUITE_FOLDER = {
    "solomon": "solomon",
    "homberger200": "homberger/200",
    "homberger400": "homberger/400",
}
CITY_TIME = {200: 10.0, 1000: 30.0, 5000: 120.0}
REALISTIC_TIME = {200: 30.0, 1000: 60.0, 5000: 120.0}
REALISTIC_CASES = "200:1,200:2,1000:1,5000:1"
# pyvroom gets no time limit up to this many stops (its best plan is the bar to clear);
# above it, our budget (level 5 would otherwise run for the better part of an hour).
VROOM_UNLIMITED_UP_TO = 1000


@dataclass(frozen=True)
class Case:
    suite: str
    name: str
    source: str  # a file path, "city:<n>:<seed>" or "realistic:<n>:<seed>"
    time_limit: float
    vroom_time_limit: float | None = None  # None: pyvroom runs to the end


def load_bks(data: Path) -> dict[str, tuple[int, float]]:
    """Distance-only best known per instance: the min over the two exact-distance rows."""
    best: dict[str, tuple[int, float]] = {}
    with (data / "bks.csv").open() as fh:
        for row in csv.DictReader(fh):
            convention = row["source"].split("|", 1)[0]
            if convention not in DISTANCE_ONLY:
                continue
            name = row["instance"].upper()
            value = (int(row["vehicles"]), float(row["distance"]))
            if name not in best or value[1] < best[name][1]:
                best[name] = value
    return best


def cases(
    suite: str,
    data: Path,
    pattern: str | None,
    time_limit: float | None,
    sizes: list[int],
    realistic: str = REALISTIC_CASES,
) -> list[Case]:
    found: list[Case] = []
    suites = ["solomon", "homberger200", "city"] if suite == "all" else [suite]
    for s in suites:
        if s == "realistic":
            for spec in realistic.split(","):
                n, seed = (int(x) for x in spec.split(":"))
                limit = time_limit or REALISTIC_TIME.get(n, 60.0)
                vlimit = None if n <= VROOM_UNLIMITED_UP_TO else limit
                found.append(Case(s, f"real{n}s{seed}", f"realistic:{n}:{seed}", limit, vlimit))
            continue
        if s == "city":
            for n in sizes:
                found.append(Case(s, f"city{n}", f"city:{n}:1", time_limit or CITY_TIME.get(n, 30)))
            continue
        folder = data / SUITE_FOLDER[s]
        if not folder.is_dir():
            raise FileNotFoundError(f"no {s} instances in {folder} (--data DIR)")
        for path in sorted(folder.glob("*.txt")):
            found.append(Case(s, path.stem.upper(), str(path), time_limit or SUITE_TIME[s]))
    if pattern:
        found = [c for c in found if fnmatch.fnmatch(c.name.upper(), pattern.upper())]
    return found


def problem_of(case: Case) -> Problem:
    if case.source.startswith("city:"):
        _, n, seed = case.source.split(":")
        return city_problem(int(n), seed=int(seed))
    if case.source.startswith("realistic:"):
        _, n, seed = case.source.split(":")
        return realistic_problem(int(n), seed=int(seed))
    return read_solomon(case.source).to_problem()


def run_case(
    case: Case, vroom: bool, exploration: int, workers: int, vroom_limit: float | None = None
) -> dict[str, Any]:
    problem = problem_of(case)
    row: dict[str, Any] = {"suite": case.suite, "instance": case.name, "limit": case.time_limit}
    started = time.monotonic()
    ours = plan(problem, time_limit_s=case.time_limit, seed=0, workers=workers)
    row["seconds"] = round(time.monotonic() - started, 2)
    report = check_plan(problem, ours)
    row.update(
        stops=len(problem.stops),
        cost=round(ours.cost, 2),
        hours=round(sum(r.duration_s for r in ours.routes) / 3600.0, 2),
        distance=round(report.distance, 2),
        vehicles=report.vehicles,
        unassigned=len(ours.unassigned),
        feasible=report.ok,
        engine=ours.engine,
        violations=report.violations[:3],
        tie=_tie(ours.stats.get("candidates", [])),
    )
    if vroom:
        from chalicelib.routing.vroom_baseline import solve_vroom

        limit = case.time_limit if case.suite != "realistic" else case.vroom_time_limit
        run = solve_vroom(
            problem, time_limit_s=vroom_limit or limit, exploration=exploration, threads=workers
        )
        row["vroom_seconds"] = round(run.seconds, 2)
        if run.plan is not None:
            vreport = check_plan(problem, run.plan)
            row.update(
                vroom_cost=round(run.plan.cost, 2),
                vroom_hours=round(sum(r.duration_s for r in run.plan.routes) / 3600.0, 2),
                vroom_distance=round(vreport.distance, 2),
                vroom_vehicles=vreport.vehicles,
                vroom_unassigned=len(run.plan.unassigned),
                vroom_feasible=vreport.ok,
            )
    return row


def _tie(candidates: list[dict[str, Any]]) -> bool:
    """Whether two engines found plans of the same cost (the win then goes to either)."""
    costs = [(c["dropped_penalty"], c["cost"]) for c in candidates if c.get("feasible")]
    if len(costs) < 2:
        return False
    best = min(costs)
    return sum(1 for c in costs if c[0] == best[0] and abs(c[1] - best[1]) <= 1e-4) > 1


def _gap(value: float | None, best: float | None) -> float | None:
    if value is None or best is None:
        return None
    return 100.0 * (value - best) / best


def _scaled(x: float | None, unit: float) -> float | None:
    return None if x is None else x / unit


def _fmt(x: Any, digits: int = 2) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def render_realistic(rows: list[dict[str, Any]]) -> str:
    """Served stops, vehicles, cost, km, hours and seconds of both plans, and the targets:
    at least as many served as pyvroom at no higher cost."""
    lines = [
        "| instance | limit s | served | veh | cost | km | hours | s | engine "
        "| pyvroom served | veh | cost | km | hours | s | cost ratio | targets | checked |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        served = row["stops"] - row["unassigned"]
        vserved = None if "vroom_unassigned" not in row else row["stops"] - row["vroom_unassigned"]
        ratio = row["cost"] / row["vroom_cost"] if row.get("vroom_cost") else None
        met = "-"
        if vserved is not None and ratio is not None:
            met = "met" if served >= vserved and ratio <= 1.0 + 1e-9 else "NOT met"
        checked = "ok" if row["feasible"] else "FAIL"
        if "vroom_feasible" in row:
            checked += " / ok" if row["vroom_feasible"] else " / pyvroom FAIL"
        lines.append(
            f"| {row['instance']} | {_fmt(row['limit'], 0)} | {served} | {row['vehicles']}"
            f" | {_fmt(row['cost'], 1)} | {_fmt(row['distance'] / 1000.0, 1)}"
            f" | {_fmt(row['hours'], 1)} | {_fmt(row['seconds'], 1)} | {row['engine']}"
            f" | {_fmt(vserved)} | {_fmt(row.get('vroom_vehicles'))}"
            f" | {_fmt(row.get('vroom_cost'), 1)}"
            f" | {_fmt(_scaled(row.get('vroom_distance'), 1000.0), 1)}"
            f" | {_fmt(row.get('vroom_hours'), 1)} | {_fmt(row.get('vroom_seconds'), 1)}"
            f" | {_fmt(ratio, 3)} | {met} | {checked} |"
        )
    return "\n".join(lines)


def render(rows: list[dict[str, Any]], bks: dict[str, tuple[int, float]]) -> str:
    real = [r for r in rows if r["suite"] == "realistic"]
    rows = [r for r in rows if r["suite"] != "realistic"]
    if real and not rows:
        return render_realistic(real)
    if real:
        return render_realistic(real) + "\n\n" + render(rows, bks)
    lines = [
        "| instance | ours dist | veh | engine | pyvroom dist | veh | best known | gap % "
        "| pyvroom gap % | ours s | pyvroom s | checked |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    by_suite: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        best = bks.get(row["instance"])
        complete = row["unassigned"] == 0 and row["feasible"]
        row["gap"] = _gap(row["distance"], best[1] if best else None) if complete else None
        vcomplete = row.get("vroom_unassigned") == 0 and row.get("vroom_feasible")
        row["vroom_gap"] = (
            _gap(row.get("vroom_distance"), best[1] if best else None) if vcomplete else None
        )
        unit = 1000.0 if row["suite"] == "city" else 1.0  # city distances in km
        checked = "ok" if row["feasible"] else "FAIL"
        if row["unassigned"]:
            checked += f" ({row['unassigned']} unassigned)"
        if "vroom_feasible" in row and not row["vroom_feasible"]:
            checked += " / pyvroom FAIL"
        if row.get("vroom_unassigned"):
            checked += f" / pyvroom {row['vroom_unassigned']} unassigned"
        lines.append(
            f"| {row['instance']} | {_fmt(row['distance'] / unit)} | {row['vehicles']}"
            f" | {row['engine']} | {_fmt(_scaled(row.get('vroom_distance'), unit))}"
            f" | {_fmt(row.get('vroom_vehicles'))}"
            f" | {_fmt(f'{best[1]:.2f} ({best[0]})' if best else None)}"
            f" | {_fmt(row['gap'])} | {_fmt(row['vroom_gap'])} | {_fmt(row['seconds'], 1)}"
            f" | {_fmt(row.get('vroom_seconds'), 1)} | {checked} |"
        )
        by_suite.setdefault(row["suite"], []).append(row)
    lines.append("")
    lines.append(
        "| suite | instances | all feasible | mean gap % | pyvroom mean gap % "
        "| ours <= pyvroom | engine wins | mean s |"
    )
    lines.append("|---|---|---|---|---|---|---|---|")
    for suite, srows in by_suite.items():
        gaps = [r["gap"] for r in srows if r["gap"] is not None]
        vgaps = [r["vroom_gap"] for r in srows if r["vroom_gap"] is not None]
        compared = [r for r in srows if r.get("vroom_distance") is not None]
        not_worse = sum(
            1
            for r in compared
            if r["feasible"]
            and r["unassigned"] <= r.get("vroom_unassigned", 0)
            and r["distance"] <= r["vroom_distance"] + 1e-6
        )
        wins = Counter(r["engine"] for r in srows)
        share = ", ".join(f"{e} {100 * k / len(srows):.0f}%" for e, k in wins.most_common())
        ties = sum(1 for r in srows if r.get("tie"))
        if ties:
            share += f" ({ties} ties)"
        lines.append(
            f"| {suite} | {len(srows)} | {all(r['feasible'] for r in srows)}"
            f" | {_fmt(statistics.mean(gaps) if gaps else None)} ({len(gaps)})"
            f" | {_fmt(statistics.mean(vgaps) if vgaps else None)} ({len(vgaps)})"
            f" | {not_worse}/{len(compared)} | {share}"
            f" | {_fmt(statistics.mean(r['seconds'] for r in srows), 1)} |"
        )
    return "\n".join(lines)


def render_saved(path: Path, data: Path) -> str:
    """The table again from rows saved with --out, without re-running anything."""
    return render(json.loads(path.read_text()), load_bks(data))


def run_bench(
    *,
    suite: str,
    pattern: str | None,
    time_limit: float | None,
    jobs: int,
    vroom: bool,
    exploration: int,
    workers: int,
    sizes: list[int],
    realistic: str = REALISTIC_CASES,
    vroom_limit: float | None = None,
    data: Path,
    out: Path | None,
) -> str:
    todo = cases(suite, data, pattern, time_limit, sizes, realistic)
    rows: list[dict[str, Any]] = []
    if jobs <= 1:
        for case in todo:
            rows.append(run_case(case, vroom, exploration, workers, vroom_limit))
            print(json.dumps(rows[-1]), flush=True)
    else:
        with ProcessPoolExecutor(jobs, mp_context=get_context("fork")) as pool:
            futures = [
                pool.submit(run_case, c, vroom, exploration, workers, vroom_limit) for c in todo
            ]
            for future in futures:
                rows.append(future.result())
                print(json.dumps(rows[-1]), flush=True)
    if out is not None:
        out.write_text(json.dumps(rows, indent=1))
    return render(rows, load_bks(data))
