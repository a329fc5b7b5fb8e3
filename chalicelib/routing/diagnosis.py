"""Why a stop cannot be served, computed before solving: which vehicles could serve it
alone (skills, capacity, shift, then an exact out-and-back timing), and otherwise the
first test every vehicle fails."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.routing.instance import NUM_DIMS, Instance
from chalicelib.routing.model import (
    REASON_NO_SKILL,
    REASON_OUTSIDE_SHIFT,
    REASON_OVER_CAPACITY,
    REASON_WINDOW_UNREACHABLE,
)
from chalicelib.routing.schedule import simulate


@dataclass
class Servability:
    allowed: dict[int, list[int]]  # service node -> vehicles that can serve it alone
    reasons: dict[int, str]  # service node nobody can serve -> reason code


def _vehicle_signature(inst: Instance, v: int) -> tuple[object, ...]:
    veh = inst.vehicles[v]
    return (
        inst.start_node[v],
        inst.end_node[v],
        inst.profile_key[v],
        inst.slowdown[v],
        inst.capacity(v),
        veh.shift,
        veh.breaks,
        veh.max_duration_s,
        veh.distance_limit,
        veh.skills,
        veh.max_trips,
        veh.reload_s,
    )


def _servable_alone(inst: Instance, v: int, seq: list[int]) -> bool:
    """Out and back, leaving at shift start or just in time for one of the windows (a
    late window may need a late start to keep within the maximum duration)."""
    veh = inst.vehicles[v]
    lead = inst.travel_time(v, inst.start_node[v], seq[0])
    departures = [
        veh.shift.start,
        *sorted({max(veh.shift.start, w.start - lead) for w in inst.nodes[seq[0]].windows}),
    ]
    return any(simulate(inst, v, seq, depart).feasible for depart in departures)


def servability(inst: Instance) -> Servability:
    groups: dict[tuple[object, ...], list[int]] = {}
    for v in range(len(inst.vehicles)):
        groups.setdefault(_vehicle_signature(inst, v), []).append(v)
    reps = [members[0] for members in groups.values()]
    allowed: dict[int, list[int]] = {}
    reasons: dict[int, str] = {}
    for i in inst.service_nodes:
        node = inst.nodes[i]
        seq = [i] if node.pair is None else [i, node.pair]
        stage = 0  # how far the best vehicle got: 1 skills, 2 capacity, 3 shift, 4 timing
        ok: list[int] = []
        for rep in reps:
            veh = inst.vehicles[rep]
            if not node.skills <= veh.skills:
                continue
            stage = max(stage, 1)
            cap = inst.capacity(rep)
            need = [max(node.delivery[k], node.pickup[k]) for k in range(NUM_DIMS)]
            if any(need[k] > cap[k] + 1e-9 for k in range(NUM_DIMS)):
                continue
            stage = max(stage, 2)
            if node.windows and not any(
                w.start <= veh.shift.end and w.end >= veh.shift.start for w in node.windows
            ):
                continue
            stage = max(stage, 3)
            if not _servable_alone(inst, rep, seq):
                continue
            stage = 4
            ok.extend(groups[_vehicle_signature(inst, rep)])
        if ok:
            allowed[i] = sorted(ok)
        else:
            reasons[i] = (
                REASON_NO_SKILL,
                REASON_OVER_CAPACITY,
                REASON_OUTSIDE_SHIFT,
                REASON_WINDOW_UNREACHABLE,
            )[stage]
    return Servability(allowed, reasons)
