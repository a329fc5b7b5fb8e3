"""Exact timing of one route: the forward pass that turns a node sequence into arrival,
service start, departure, load and breaks, with double-precision travel times and the
time-of-day slowdown at each departure."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

from chalicelib.routing.instance import NUM_DIMS, Instance
from chalicelib.routing.model import Break, TimeWindow
from chalicelib.routing.travel import slowdown_at

EPS = 1e-6


@dataclass
class Timing:
    feasible: bool
    violation: str | None
    start: float
    end: float = 0.0
    distance: float = 0.0
    arrivals: list[float] = field(default_factory=list)
    starts: list[float] = field(default_factory=list)
    departures: list[float] = field(default_factory=list)
    loads: list[tuple[float, ...]] = field(default_factory=list)
    start_load: tuple[float, ...] = (0.0, 0.0, 0.0)
    breaks: list[tuple[int, float, float]] = field(default_factory=list)
    break_gaps: list[int] | None = None  # where each of the vehicle's breaks was placed
    reload_gaps: list[int] = field(default_factory=list)
    # Per reload: its gap, back at the depot, leaving again, the next trip's load.
    reloads: list[tuple[int, float, float, tuple[float, ...]]] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return self.end - self.start


def earliest_service(windows: Sequence[TimeWindow], t: float) -> float | None:
    """Earliest service start at or after t inside a window, None if every window is past."""
    if not windows:
        return t
    best = None
    for w in windows:
        if w.end + EPS >= t:
            s = max(t, w.start)
            best = s if best is None else min(best, s)
    return best


def off_road_ok(b: Break, start: float, end: float) -> bool:
    """A break may be taken at the depot, before leaving or after returning."""
    return end <= b.latest + EPS or start >= b.earliest + b.duration - EPS


def _leg(
    t: float, travel: float, breaks: list[Break], taken: list[tuple[int, float, float]], gap: int
) -> tuple[float, str | None]:
    """Travel `travel` seconds from time t, taking `breaks` on the way as early as allowed
    (driving until a break may start, never idling before it could). Returns arrival."""
    remaining = travel
    for b in sorted(breaks, key=lambda b: b.earliest):
        if b.earliest > t:
            drive = min(remaining, b.earliest - t)
            t += drive
            remaining -= drive
        start = max(t, b.earliest)
        if start > b.latest + EPS:
            return t, f"break cannot start by {b.latest:.1f}"
        taken.append((gap, start, b.duration))
        t = start + b.duration
    return t + remaining, None


def simulate(
    inst: Instance,
    v: int,
    seq: Sequence[int],
    depart: float | None = None,
    break_gaps: Sequence[int] | None = None,
    reloads: Sequence[int] | None = None,
) -> Timing:
    """Time route `seq` (service nodes, no depots) for vehicle v. Break k is taken in gap
    break_gaps[k] (gap g precedes seq[g]; gap len(seq) is the way home; -1: off the road,
    before leaving or after returning, allowed when the break window permits it); without
    gaps every placement is tried when there are few, the latest gaps otherwise. In each
    gap of `reloads` the vehicle drives back to its start depot, reloads for its reload
    time and leaves with the next trip's load (a break in that gap is taken on the way in)."""
    veh = inst.vehicles[v]
    if veh.breaks and break_gaps is None:
        n_gaps = len(seq) + 1
        if n_gaps ** len(veh.breaks) <= 64:
            options: Sequence[Sequence[int]] = list(
                itertools.product(range(-1, n_gaps), repeat=len(veh.breaks))
            )
        else:
            options = _gaps_near_windows(inst, v, seq, depart, reloads)
        best: Timing | None = None
        for gaps in options:
            timing = simulate(inst, v, seq, depart, gaps, reloads)
            if timing.feasible and (best is None or timing.end < best.end):
                best = timing
        return best or simulate(inst, v, seq, depart, options[0], reloads)

    traffic = inst.problem.traffic
    key = inst.profile_key[v]
    placed = None if break_gaps is None else list(break_gaps)
    dist_m, dur_m = inst.distance[key], inst.duration[key]
    cap = inst.capacity(v)
    t = veh.shift.start if depart is None else depart
    timing = Timing(True, None, start=t, break_gaps=placed)
    cuts = sorted(set(reloads or ()))
    timing.reload_gaps = cuts
    bounds = [0, *cuts, len(seq)]
    load = _carried_out(inst, seq[bounds[0] : bounds[1]])
    timing.start_load = tuple(load)

    def fail(msg: str) -> Timing:
        timing.feasible = False
        timing.violation = timing.violation or msg
        return timing

    if any(load[k] > cap[k] + EPS for k in range(NUM_DIMS)):
        fail("load at start exceeds capacity")
    if cuts and (cuts[0] < 1 or cuts[-1] > len(seq) - 1):
        fail("a reload before the first or after the last stop")
    if len(cuts) + 1 > max(veh.max_trips, 1):
        fail(f"{len(cuts) + 1} trips, at most {veh.max_trips} allowed")
    trip = 0
    gaps_breaks: dict[int, list[Break]] = {}
    for k, b in enumerate(veh.breaks):
        assert break_gaps is not None
        gaps_breaks.setdefault(break_gaps[k], []).append(b)
    prev = inst.start_node[v]
    path = [*seq, inst.end_node[v]]
    for g, i in enumerate(path):
        if trip + 1 < len(bounds) - 1 and g == bounds[trip + 1]:
            # Back to the depot, the breaks of this gap on the way in, then reload.
            depot = inst.start_node[v]
            travel = float(dur_m[prev, depot]) * slowdown_at(traffic, t)
            timing.distance += float(dist_m[prev, depot])
            back, err = _leg(t, travel, gaps_breaks.pop(g, []), timing.breaks, g)
            if err:
                fail(err)
            trip += 1
            if any(x > EPS for x in load):
                fail("reloads with a pickup still on board")
            load = _carried_out(inst, seq[bounds[trip] : bounds[trip + 1]])
            if any(load[k] > cap[k] + EPS for k in range(NUM_DIMS)):
                fail(f"trip {trip + 1}'s load exceeds capacity")
            t = back + veh.reload_s
            timing.reloads.append((g, back, t, tuple(load)))
            prev = depot
        travel = float(dur_m[prev, i]) * slowdown_at(traffic, t)
        timing.distance += float(dist_m[prev, i])
        arrival, err = _leg(t, travel, gaps_breaks.get(g, []), timing.breaks, g)
        if err:
            fail(err)
        if g == len(seq):
            timing.end = arrival
            break
        node = inst.nodes[i]
        start = earliest_service(node.windows, arrival)
        if start is None:
            fail(f"arrives at {node.stop_ids} after its last window")
            start = arrival
        t = start + node.service_s
        for k in range(NUM_DIMS):
            load[k] += node.pickup[k] - node.delivery[k]
        if any(load[k] > cap[k] + EPS for k in range(NUM_DIMS)):
            fail(f"over capacity after {node.stop_ids}")
        timing.arrivals.append(arrival)
        timing.starts.append(start)
        timing.departures.append(t)
        timing.loads.append(tuple(load))
        prev = i
    for b in gaps_breaks.get(-1, []):
        if not off_road_ok(b, timing.start, timing.end):
            fail("a break falls inside the route but is not taken")
    if timing.start < veh.shift.start - EPS or timing.end > veh.shift.end + EPS:
        fail("outside the vehicle's shift")
    if veh.max_duration_s is not None and timing.duration > veh.max_duration_s + EPS:
        fail("longer than the maximum route duration")
    limit = veh.distance_limit
    if limit is not None and timing.distance > limit + EPS:
        fail("longer than the maximum route distance or range")
    return timing


def _carried_out(inst: Instance, trip: Sequence[int]) -> list[float]:
    """What a trip leaves the depot with: its deliveries (a drop brings a pickup back)."""
    load = [0.0] * NUM_DIMS
    for i in trip:
        node = inst.nodes[i]
        if node.kind != "drop":
            for k in range(NUM_DIMS):
                load[k] += node.delivery[k]
    return load


def _gaps_near_windows(
    inst: Instance,
    v: int,
    seq: Sequence[int],
    depart: float | None,
    reloads: Sequence[int] | None = None,
) -> list[Sequence[int]]:
    """Break placements worth trying on a long route: for each break, the legs that the
    route, timed without breaks, is on around the break's window (breaks only delay the
    route, so a leg that ends before the window opens cannot hold the break), and -1."""
    veh = inst.vehicles[v]
    free = simulate(inst, v, seq, depart, [-1] * len(veh.breaks), reloads)
    leg_start = [free.start, *free.departures]
    per_break = []
    for b in veh.breaks:
        near = [
            g
            for g, t in enumerate(leg_start)
            if t <= b.latest + EPS and (g == len(seq) or free.starts[g] + b.duration >= b.earliest)
        ]
        per_break.append(near)
    # At most about 200 placements in all, each break keeping the legs nearest its window
    # (a cut of the product itself would vary only the first break).
    keep = max(1, min(24, round(200 ** (1 / max(1, len(per_break)))) - 1))
    options = itertools.product(*([-1, *near[-keep:]] for near in per_break))
    return [list(o) for o in options]


def latest_start(
    inst: Instance,
    v: int,
    seq: Sequence[int],
    depart: float | None = None,
    break_gaps: Sequence[int] | None = None,
    reloads: Sequence[int] | None = None,
) -> Timing:
    """The route timed from the latest departure that keeps it feasible and no longer: a
    route that leaves early only to wait costs more per hour for nothing."""
    best = simulate(inst, v, seq, depart, break_gaps, reloads)
    if not best.feasible and break_gaps is not None:
        best = simulate(inst, v, seq, depart, None, reloads)
    if not best.feasible or not seq:
        return best
    lo, hi = 0.0, sum(s - a for s, a in zip(best.starts, best.arrivals, strict=True))
    hi = min(hi, inst.vehicles[v].shift.end - best.start)
    gaps = best.break_gaps
    base = best.start
    for _ in range(20):
        if hi - lo < 1.0:
            break
        mid = (lo + hi) / 2
        trial = simulate(inst, v, seq, base + mid, gaps, reloads)
        if not trial.feasible and gaps is not None:
            trial = simulate(inst, v, seq, base + mid, None, reloads)
        if trial.feasible and trial.duration <= best.duration + EPS:
            best, lo = trial, mid
        else:
            hi = mid
    return best
