"""pyvroom (the VROOM engine) on the same problem, for the benchmark: the same integer
conventions as our engines (durations rounded up, costs = distance)."""

from __future__ import annotations

import datetime
import math
import time
from dataclasses import dataclass

import numpy as np

from chalicelib.routing.instance import Instance, compile_problem
from chalicelib.routing.model import Load, Plan, Route, Unassigned, Visit
from chalicelib.routing.model import Problem as RoutingProblem
from chalicelib.routing.schedule import simulate


@dataclass
class VroomRun:
    plan: Plan | None
    seconds: float
    error: str | None = None


def solve_vroom(
    problem: RoutingProblem, *, time_limit_s: float, exploration: int = 5, threads: int = 2
) -> VroomRun:
    """Only for delivery-only problems with one window per stop and one depot."""
    import vroom

    started = time.monotonic()
    inst: Instance = compile_problem(problem)
    ts, ds = inst.time_scale, inst.dist_scale
    key = inst.profile_key[0]
    n = len(inst.nodes)
    dur = np.ceil(inst.duration[key] * inst.slowdown[0] * ts - 1e-9).astype(np.int64)
    cost = np.rint(inst.distance[key] * ds).astype(np.int64)
    inp = vroom.Input()
    inp.set_durations_matrix(profile="car", matrix_input=dur)
    inp.set_costs_matrix(profile="car", matrix_input=cost)
    for v, veh in enumerate(inst.vehicles):
        inp.add_vehicle(
            vroom.Vehicle(
                v + 1,
                start=inst.start_node[v],
                end=inst.end_node[v],
                capacity=[int(veh.capacity.parcels)],
                time_window=vroom.TimeWindow(
                    math.ceil(veh.shift.start * ts), math.floor(veh.shift.end * ts)
                ),
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
                delivery=[round(node.delivery[0])],
                time_windows=windows or [vroom.TimeWindow()],
            )
        )
    solution = inp.solve(
        exploration_level=exploration,
        nb_threads=threads,
        timeout=datetime.timedelta(seconds=max(time_limit_s - (time.monotonic() - started), 0.1)),
    )
    answer = solution.to_dict()
    routes = []
    served: set[int] = set()
    distance = 0.0
    for r in answer["routes"]:
        v = int(r["vehicle"]) - 1
        seq = [int(s["id"]) for s in r["steps"] if s["type"] == "job"]
        depart = r["steps"][0]["arrival"] / ts
        timing = simulate(inst, v, seq, depart)
        if not timing.feasible:
            timing = simulate(inst, v, seq)
        served.update(seq)
        distance += timing.distance
        visits = [
            Visit("stop", list(inst.nodes[i].stop_ids), a, s, d, Load(), inst.nodes[i].location)
            for i, a, s, d in zip(
                seq, timing.arrivals, timing.starts, timing.departures, strict=True
            )
        ]
        routes.append(
            Route(
                inst.vehicles[v].id,
                timing.start,
                timing.end,
                timing.distance,
                timing.duration,
                Load(),
                visits,
            )
        )
    unassigned = [
        Unassigned(sid, "capacity_short")
        for i in inst.service_nodes
        if i not in served
        for sid in inst.nodes[i].stop_ids
    ]
    plan = Plan(routes, unassigned, distance, distance, "vroom")
    return VroomRun(plan, time.monotonic() - started)
