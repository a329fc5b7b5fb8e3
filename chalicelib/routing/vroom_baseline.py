"""pyvroom (the VROOM engine) on the same problem, for the benchmark: the same matrices and
integer conventions as our engines (durations rounded up), the same vehicle costs (fixed,
per km, per hour), breaks, skills, ranges and windows; its plan is re-timed exactly and
costed by the planner's cost function."""

from __future__ import annotations

import datetime
import math
import sys
import time
from dataclasses import dataclass

import numpy as np

from chalicelib.routing.instance import Instance, compile_problem
from chalicelib.routing.model import Load, Plan, PlannedBreak, Route, Unassigned, Visit
from chalicelib.routing.model import Problem as RoutingProblem
from chalicelib.routing.portfolio import route_cost
from chalicelib.routing.schedule import latest_start

# VROOM's costs are integers: cost units are multiplied by this.
COST_UNITS = 10_000


# pyvroom is a benchmark baseline, so only the dev install (`make test`) has it.
WITHOUT_VROOM = (
    "pyvroom is not installed, so no pyvroom baseline this time (the dev install has it: "
    "`make test`, or `.venv/bin/pip install 'pyvroom>=1.14,<2'`; --no-vroom says this is meant)"
)


def baseline_wanted(no_vroom: bool, command: str) -> bool:
    """Whether to run pyvroom beside our planner: not with --no-vroom, and not when it cannot
    be imported (then one line on stderr says so and how to get it)."""
    if no_vroom:
        return False
    try:
        import vroom  # noqa: F401
    except ImportError:
        print(f"lastmile {command}: {WITHOUT_VROOM}", file=sys.stderr, flush=True)
        return False
    return True


@dataclass
class VroomRun:
    plan: Plan | None
    seconds: float
    error: str | None = None


def solve_vroom(
    problem: RoutingProblem, *, time_limit_s: float | None, exploration: int = 5, threads: int = 2
) -> VroomRun:
    """Delivery-only problems (no pickups or lockers with several orders); time_limit_s
    None lets VROOM finish."""
    import vroom

    started = time.monotonic()
    inst: Instance = compile_problem(problem)
    ts, ds = inst.time_scale, inst.dist_scale
    n = len(inst.nodes)
    vehicles = inst.vehicles
    # Textbook problems: cost is distance (a costs matrix, exactly as before); otherwise
    # VROOM gets durations and distances per profile and each vehicle's rates.
    distance_only = len({v.cost_per_km for v in vehicles}) == 1 and not any(
        v.cost_per_hour or v.fixed_cost for v in vehicles
    )
    inp = vroom.Input()
    profile_of: dict[tuple[str, float], str] = {}
    for v in range(len(vehicles)):
        key = (inst.profile_key[v], inst.slowdown[v])
        if key in profile_of:
            continue
        name = f"p{len(profile_of)}"
        profile_of[key] = name
        dur = np.ceil(inst.duration[key[0]] * key[1] * ts - 1e-9).astype(np.int64)
        dist = np.ceil(inst.distance[key[0]] * ds - 1e-9).astype(np.int64)
        inp.set_durations_matrix(profile=name, matrix_input=dur)
        if distance_only:
            inp.set_costs_matrix(profile=name, matrix_input=np.rint(inst.distance[key[0]] * ds))
        else:
            inp.set_distances_matrix(profile=name, matrix_input=dist)
    skill_ids: dict[str, int] = {}

    def skills(names: frozenset[str]) -> set[int]:
        return {skill_ids.setdefault(s, len(skill_ids) + 1) for s in sorted(names)}

    for v, veh in enumerate(vehicles):
        limit = veh.distance_limit
        extra = {}
        if limit is not None:
            extra["max_distance"] = math.floor(limit * ds)
        if veh.max_duration_s is not None:
            extra["max_travel_time"] = math.floor(veh.max_duration_s * ts)
        costs = vroom.VehicleCosts(
            fixed=round(veh.fixed_cost * COST_UNITS),
            per_hour=round(veh.cost_per_hour * COST_UNITS / ts),
            per_km=round(veh.cost_per_km * COST_UNITS / ds),
        )
        inp.add_vehicle(
            vroom.Vehicle(
                v + 1,
                start=inst.start_node[v],
                end=inst.end_node[v],
                profile=profile_of[(inst.profile_key[v], inst.slowdown[v])],
                capacity=[
                    round(c * s) for c, s in zip(inst.capacity(v), (1, 1000, 1000), strict=True)
                ],
                skills=skills(veh.skills),
                time_window=vroom.TimeWindow(
                    math.ceil(veh.shift.start * ts), math.floor(veh.shift.end * ts)
                ),
                breaks=[
                    vroom.Break(
                        (v + 1) * 100 + k,
                        time_windows=[
                            vroom.TimeWindow(math.ceil(b.earliest * ts), math.floor(b.latest * ts))
                        ],
                        service=math.ceil(b.duration * ts),
                    )
                    for k, b in enumerate(veh.breaks)
                ],
                **({} if distance_only else {"costs": costs}),
                **extra,
            )
        )
    for i in range(n):
        node = inst.nodes[i]
        if node.kind == "depot":
            continue
        windows = [
            vroom.TimeWindow(math.ceil(w.start * ts - 1e-9), math.floor(w.end * ts))
            for w in node.windows
        ]
        inp.add_job(
            vroom.Job(
                i,
                location=i,
                default_service=math.ceil(node.service_s * ts - 1e-9),
                delivery=[
                    math.ceil(x * s - 1e-9)
                    for x, s in zip(node.delivery, (1, 1000, 1000), strict=True)
                ],
                skills=skills(node.skills),
                time_windows=windows or [vroom.TimeWindow()],
            )
        )
    options = {}
    if time_limit_s is not None:
        left = max(time_limit_s - (time.monotonic() - started), 0.1)
        options["timeout"] = datetime.timedelta(seconds=left)
    solution = inp.solve(exploration_level=exploration, nb_threads=threads, **options)
    answer = solution.to_dict()
    routes = []
    served: set[int] = set()
    distance = cost = 0.0
    for r in answer["routes"]:
        v = int(r["vehicle"]) - 1
        seq: list[int] = []
        gaps: list[int] = []
        for step in r["steps"]:
            if step["type"] == "job":
                seq.append(int(step["id"]))
            elif step["type"] == "break":
                gaps.append(len(seq))
        depart = r["steps"][0]["arrival"] / ts
        timing = latest_start(inst, v, seq, depart, gaps if vehicles[v].breaks else None)
        served.update(seq)
        distance += timing.distance
        cost += route_cost(inst, v, timing)
        visits = [
            Visit("stop", list(inst.nodes[i].stop_ids), a, s, d, Load(), inst.nodes[i].location)
            for i, a, s, d in zip(
                seq, timing.arrivals, timing.starts, timing.departures, strict=True
            )
        ]
        routes.append(
            Route(
                vehicles[v].id,
                timing.start,
                timing.end,
                timing.distance,
                timing.duration,
                Load(),
                visits,
                [PlannedBreak(g - 1, s, d) for g, s, d in timing.breaks],
            )
        )
    unassigned = [
        Unassigned(sid, "capacity_short")
        for i in inst.service_nodes
        if i not in served
        for sid in inst.nodes[i].stop_ids
    ]
    plan = Plan(routes, unassigned, cost, distance, "vroom")
    return VroomRun(plan, time.monotonic() - started)
