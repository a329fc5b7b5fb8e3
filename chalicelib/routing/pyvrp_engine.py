"""PyVRP as an engine of the portfolio, for every problem it can express: vehicle types
with their own capacity, fixed, per-km and per-hour costs, shifts and ranges; skills as
profiles in which the stops a type may not serve are unreachable; several windows as a
group of alternative clients; breaks folded into a shift shortened by their duration
(placed afterwards by the exact re-timing, and repaired where that fails)."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from chalicelib.routing.errors import SolverError
from chalicelib.routing.instance import NUM_DIMS, Instance
from chalicelib.routing.model import TimeWindow
from chalicelib.routing.ortools_engine import DIM_SCALE
from chalicelib.routing.schedule import simulate
from chalicelib.routing.solution import EngineResult, EngineRoute

INT_MAX = 2**62
# PyVRP sums costs in int64: all prizes together stay below this, whatever the penalties.
PRIZE_BUDGET = 2**60
# The smallest non-zero per-tick cost gets at least this many integer units, so rounding
# the per-km and per-hour rates costs at most a tenth of a percent.
COST_RESOLUTION = 10.0
# Loads in thousandths (parcels) and grams and millilitres: PyVRP caps its penalty per
# unit of excess load, and one parcel too many must cost more than a vehicle saved.
GENERAL_LOAD_SCALE = (1000.0, 1000.0, 1000.0)


def expressible(inst: Instance, nodes: Sequence[int], allowed: dict[int, list[int]]) -> bool:
    """PyVRP carries pickups to the end depot, so every pickup must be dropped there."""
    if not inst.vehicles:
        return False
    end_depots = set(inst.end_node)
    for i in nodes:
        node = inst.nodes[i]
        if node.pair is not None and {inst.nodes[node.pair].depot} != end_depots:
            return False
    return True


@dataclass(frozen=True)
class Scaling:
    """Integer units for PyVRP. `cost` integer units per cost unit; `per_km_only`: one
    per-km rate and no hourly cost, where distance ticks are the cost units, as PyVRP is
    tuned for. Otherwise costs span rates a few hundred times apart (a bike's km, a
    driver's tenth of a second), so the penalties and loads are scaled up with them."""

    cost: float
    per_km_only: bool
    load: tuple[float, float, float]
    penalty_unit: float  # the largest cost of one tick, in integer units


def scaling(inst: Instance) -> Scaling:
    ts, ds = inst.time_scale, inst.dist_scale
    per_km = {v.cost_per_km for v in inst.vehicles}
    if len(per_km) == 1 and not any(v.cost_per_hour for v in inst.vehicles) and min(per_km) > 0:
        return Scaling(ds * 1000.0 / min(per_km), True, DIM_SCALE, 1.0)
    rates = [v.cost_per_km / 1000.0 / ds for v in inst.vehicles if v.cost_per_km > 0]
    rates += [v.cost_per_hour / 3600.0 / ts for v in inst.vehicles if v.cost_per_hour > 0]
    if not rates:
        return Scaling(ds, False, GENERAL_LOAD_SCALE, 1.0)
    cost = COST_RESOLUTION / min(rates)
    return Scaling(cost, False, GENERAL_LOAD_SCALE, max(max(rates) * cost, 1.0))


class StopAt:
    """PyVRP's stop criterion at a wall-clock deadline (and optionally after N iterations).
    PyVRP's own MaxRuntime starts counting at its first call, after the initial solution,
    which on a thousand stops of a loaded machine can take seconds and overrun the limit;
    the margin left before the deadline is for the last iteration."""

    def __init__(self, deadline: float, max_iterations: int | None = None):
        self.deadline = deadline
        self.max_iterations = max_iterations
        self.iterations = 0

    def __call__(self, best_cost: int) -> bool:
        self.iterations += 1
        if self.max_iterations is not None and self.iterations > self.max_iterations:
            return True
        return time.monotonic() >= self.deadline


@dataclass(frozen=True)
class BreakFold:
    """Every driver takes the same one break at the fixed instant `at`: PyVRP plans in a
    timeline with the break cut out (real time = planned time before `at`, planned time
    + duration from `at` on), which is exact once each window is mapped into it."""

    at: float
    duration: float
    latest: float  # the break's own latest start


def break_fold(inst: Instance, fraction: float = 0.5) -> BreakFold | None:
    """The fixed instant, that fraction into the window in which a break may start while
    still leaving room for the longest service in progress to end first; None unless every
    vehicle owes the same single break."""
    kinds = {v.breaks for v in inst.vehicles}
    if len(kinds) != 1:
        return None
    (breaks,) = kinds
    if len(breaks) != 1:
        return None
    b = breaks[0]
    longest = max((n.service_s for n in inst.nodes if n.kind != "depot"), default=0.0)
    latest = b.latest - longest
    if latest < b.earliest:
        return None
    return BreakFold(b.earliest + fraction * (latest - b.earliest), b.duration, b.latest)


def virtual_windows(
    windows: Sequence[TimeWindow], fold: BreakFold | None
) -> list[tuple[float, float] | None]:
    """A stop's windows in the planning timeline: served before the break, a window keeps
    its part up to the break; served after, it moves earlier by the break's length and
    keeps its part from the break on. Several parts become alternative clients."""
    if not windows:
        return [None]
    ordered = sorted(windows, key=lambda w: w.start)
    if fold is None:
        return [(w.start, w.end) for w in ordered]
    parts: list[tuple[float, float] | None] = []
    for w in ordered:
        if w.start <= min(w.end, fold.at):
            parts.append((w.start, min(w.end, fold.at)))
        after = (max(w.start - fold.duration, fold.at), w.end - fold.duration)
        if after[0] <= after[1]:
            parts.append(after)
    return parts


def solve_pyvrp(
    inst: Instance,
    nodes: Sequence[int],
    allowed: dict[int, list[int]] | None = None,
    *,
    deadline: float,
    seed: int = 0,
    max_iterations: int | None = None,
    hint: list[EngineRoute] | None = None,
    break_at: float = 0.5,
) -> EngineResult:
    """`break_at` places the fixed break (see `break_fold`) at that fraction of the
    break's window."""
    import pyvrp

    started = time.monotonic()
    ts, ds = inst.time_scale, inst.dist_scale
    fold = break_fold(inst, break_at)
    units = scaling(inst)
    scale = units.cost
    nv = len(inst.vehicles)
    allowed = allowed or {}
    depots = [i for i, n in enumerate(inst.nodes) if n.kind == "depot"]
    points = depots + list(nodes)
    locations = [
        pyvrp.Location(inst.nodes[g].location.lon, inst.nodes[g].location.lat) for g in points
    ]

    def amount(values: tuple[float, float, float]) -> list[int]:
        return [math.ceil(values[k] * units.load[k] - 1e-9) for k in range(NUM_DIMS)]

    total = np.zeros(NUM_DIMS)
    for g in nodes:
        node = inst.nodes[g]
        total += np.maximum(np.array(node.delivery), np.array(node.pickup))
    fleet = np.sum([inst.capacity(v) for v in range(nv)], axis=0)
    # With room for everything, stops are required (PyVRP searches better that way); if the
    # result then leaves a stop out or is infeasible, the portfolio keeps the other plan.
    required = bool(np.all(total <= fleet * 0.97)) and all(
        inst.nodes[g].value is None for g in nodes
    )
    penalties = sum(inst.nodes[g].penalty for g in nodes if inst.nodes[g].value is None)
    prize_scale = min(scale, PRIZE_BUDGET / max(penalties, 1.0))

    clients: list[Any] = []
    groups: list[Any] = []
    node_of_client: list[int] = []
    clients_of: dict[int, list[int]] = {}
    for k, g in enumerate(nodes):
        node = inst.nodes[g]
        windows = virtual_windows(node.windows, fold)
        if not windows:
            continue  # no service start fits around the fixed break: left to the fill-in
        alternatives = len(windows) > 1
        prize = round(node.penalty * (scale if node.value is not None else prize_scale))
        group = len(groups) if alternatives else None
        members = []
        for w in windows:
            members.append(len(clients))
            node_of_client.append(g)
            clients.append(
                pyvrp.Client(
                    location=len(depots) + k,
                    delivery=amount(node.delivery),
                    pickup=amount(node.pickup),
                    service_duration=math.ceil(node.service_s * ts - 1e-9),
                    tw_early=0 if w is None else math.ceil(w[0] * ts - 1e-9),
                    tw_late=INT_MAX if w is None else math.floor(w[1] * ts + 1e-9),
                    # A group's members are optional; the group itself is what is required.
                    required=required and not alternatives,
                    prize=0 if required else prize,
                    group=group,
                )
            )
        clients_of[g] = members
        if alternatives:
            groups.append(pyvrp.ClientGroup(members, required=required))
    pyvrp_depots = [pyvrp.Depot(location=k) for k in range(len(depots))]
    # A reload is a visit to a second depot at the same place whose service is the reload
    # time (PyVRP's depot service counts at each trip's start, so the start depot has none).
    reload_depot: dict[tuple[int, int], int] = {}
    for veh, start in zip(inst.vehicles, inst.start_node, strict=True):
        if veh.max_trips > 1:
            key = (depots.index(start), math.ceil(veh.reload_s * ts - 1e-9))
            if key not in reload_depot:
                reload_depot[key] = len(pyvrp_depots)
                pyvrp_depots.append(pyvrp.Depot(location=key[0], service_duration=key[1]))

    # Unreachable: an arc into a barred stop takes longer than any shift (the time warp
    # makes the route infeasible); both stay small enough that PyVRP's penalties times
    # these violations cannot overflow int64.
    horizon = max(v.shift.end for v in inst.vehicles) * ts
    far_time = int(4 * horizon) + 1
    ranged = any(veh.distance_limit is not None for veh in inst.vehicles)
    profiles: dict[tuple[Any, ...], int] = {}
    dist_mats: list[Any] = []
    dur_mats: list[Any] = []
    type_of_sig: dict[tuple[Any, ...], list[int]] = {}
    for v, veh in enumerate(inst.vehicles):
        barred = tuple(k for k, g in enumerate(nodes) if allowed and v not in allowed.get(g, ()))
        pk = (inst.profile_key[v], inst.slowdown[v], barred)
        if pk not in profiles:
            profiles[pk] = len(dist_mats)
            sub = np.ix_(points, points)
            # Rounded up where a range binds, so PyVRP's ranges hold in exact metres;
            # textbook distances keep the nearest tick, as the benchmarks were run with.
            metres = inst.distance[pk[0]][sub] * ds
            nearest = units.per_km_only and not ranged
            dist = (np.rint(metres) if nearest else np.ceil(metres - 1e-9)).astype(np.int64)
            dur = np.ceil(inst.duration[pk[0]][sub] * pk[1] * ts - 1e-9).astype(np.int64)
            cols = [len(depots) + k for k in barred]
            dist[:, cols] = 2 * int(dist.max()) + 1
            dur[:, cols] = far_time
            np.fill_diagonal(dist, 0)
            np.fill_diagonal(dur, 0)
            dist_mats.append(dist)
            dur_mats.append(dur)
        pause = sum(b.duration for b in veh.breaks)
        sig = (
            inst.start_node[v],
            inst.end_node[v],
            profiles[pk],
            repr(amount(inst.capacity(v))),
            veh.shift,
            pause,
            veh.max_duration_s,
            veh.distance_limit,
            veh.fixed_cost,
            veh.cost_per_km,
            veh.cost_per_hour,
            veh.max_trips,
            veh.reload_s,
        )
        type_of_sig.setdefault(sig, []).append(v)
    vehicle_types = []
    members_of_type: list[list[int]] = []
    per_km_only = units.per_km_only
    for sig, vs in type_of_sig.items():
        veh = inst.vehicles[vs[0]]
        limit = veh.distance_limit
        pause = float(sig[5])
        reloads: dict[str, Any] = {}
        if veh.max_trips > 1:
            key = (depots.index(int(sig[0])), math.ceil(veh.reload_s * ts - 1e-9))
            reloads = {"reload_depots": [reload_depot[key]], "max_reloads": veh.max_trips - 1}
        # Folded break: the shift and the maximum duration lose the break's length, so
        # wherever the re-timing places the break, the route still ends in time.
        late = math.floor((veh.shift.end - pause) * ts + 1e-9)
        early = math.ceil(veh.shift.start * ts - 1e-9)
        vehicle_types.append(
            pyvrp.VehicleType(
                num_available=len(vs),
                capacity=amount(inst.capacity(vs[0])),
                start_depot=depots.index(int(sig[0])),
                end_depot=depots.index(int(sig[1])),
                fixed_cost=round(veh.fixed_cost * scale),
                tw_early=early,
                tw_late=max(late, early),
                shift_duration=INT_MAX
                if veh.max_duration_s is None
                else max(math.floor((veh.max_duration_s - pause) * ts), 0),
                max_distance=INT_MAX if limit is None else math.floor(limit * ds),
                unit_distance_cost=1
                if per_km_only
                else round(veh.cost_per_km / 1000.0 / ds * scale),
                unit_duration_cost=round(veh.cost_per_hour / 3600.0 / ts * scale),
                profile=int(sig[2]),
                **reloads,
            )
        )
        members_of_type.append(vs)
    data = pyvrp.ProblemData(
        locations, clients, pyvrp_depots, vehicle_types, dist_mats, dur_mats, groups
    )
    initial = None
    if hint:
        type_of = {v: t for t, vs in enumerate(members_of_type) for v in vs}
        hint_routes = []
        for hinted in hint:
            seq = [g for g in hinted.nodes if g in clients_of]
            if not seq:
                continue
            timing = simulate(inst, hinted.vehicle, hinted.nodes, hinted.depart, hinted.break_gaps)
            start_of = {
                g: t if fold is None or t < fold.at else t - fold.duration
                for g, t in zip(hinted.nodes, timing.starts, strict=True)
            }
            visits = [_client_for(clients_of[g], clients, start_of[g] * ts) for g in seq]
            kind = type_of[hinted.vehicle]
            reload_at = vehicle_types[kind].reload_depots
            if hinted.reloads and reload_at:
                # The hint's reloads, as gaps between the clients that stay in it.
                cut_before = {hinted.nodes[g] for g in hinted.reloads}
                acts: list[Any] = []
                for g, c in zip(seq, visits, strict=True):
                    if g in cut_before and acts:
                        acts.append(pyvrp.Activity(pyvrp.ActivityType.DEPOT, reload_at[0]))
                    acts.append(pyvrp.Activity(pyvrp.ActivityType.CLIENT, c))
                hint_routes.append(pyvrp.Route(data, acts, kind))
            else:
                hint_routes.append(pyvrp.Route(data, visits, kind))
        initial = pyvrp.Solution(data, hint_routes)
    budget = max(deadline - time.monotonic(), 0.05)
    stop = StopAt(deadline - min(0.03 * budget, 1.5), max_iterations)
    params = pyvrp.SolveParams(
        penalty=pyvrp.PenaltyParams(
            min_penalty=0.1 * units.penalty_unit, max_penalty=100_000.0 * units.penalty_unit
        )
    )
    result = pyvrp.solve(
        data,
        stop=stop,
        seed=seed,
        display=False,
        collect_stats=False,
        initial_solution=initial,
        params=params,
    )
    best = result.best
    found = best.routes()
    if not best.is_feasible():
        # Short of time (or of CPU on a loaded machine) the best solution may still break
        # a constraint somewhere: its sound routes are kept, the fill-in places the rest.
        # A route only over capacity is kept cut to what fits: with far more to deliver than
        # the fleet carries, every prize outweighs PyVRP's capped load penalty, and its best
        # solutions overload every vehicle.
        found = [r for r in found if r.is_feasible() or _only_overloaded(r)]
        if not found:
            raise SolverError("PyVRP found no feasible solution")
    free = [list(vs) for vs in members_of_type]
    routes = []
    taken: set[int] = set()
    for r in found:
        # An infeasible solution may serve two alternatives of one stop: the first counts.
        # PyVRP carries pickups to the depot: their drop nodes close their trip.
        seq, starts, cuts = [], [], []
        trip: list[tuple[int, float]] = []
        cap = inst.capacity(members_of_type[r.vehicle_type()][0])
        for a in list(r)[1:]:
            if a.is_client() and node_of_client[a.idx] not in taken:
                g = node_of_client[a.idx]
                if g not in (x for x, _ in trip):
                    trip.append((g, a.start_time / ts))
            if a.is_depot() and trip:
                if not r.is_feasible():
                    trip = _fitting(inst, trip, cap)
                    if not trip:
                        continue
                taken.update(g for g, _ in trip)
                drops = [p for p in (inst.nodes[g].pair for g, _ in trip) if p is not None]
                seq += [g for g, _ in trip] + drops
                starts += [t for _, t in trip] + [math.inf] * len(drops)
                cuts.append(len(seq))
                trip = []
        cuts = cuts[:-1]  # the last depot is the route's end, not a reload
        if not seq:
            continue
        v = free[r.vehicle_type()].pop(0)
        depart = r.start_time() / ts
        gaps = None
        if fold is not None:
            # The break falls before the first stop served from the fixed instant on, or
            # at the depot when the route starts after it or is back before it must start.
            after = [k for k, t in enumerate(starts) if fold.at <= t < math.inf]
            if depart >= fold.at:
                depart += fold.duration
                gaps = [-1]
            elif after:
                gaps = [after[0]]
            else:
                gaps = [-1] if r.end_time() / ts <= fold.latest else [len(seq)]
        routes.append(EngineRoute(v, seq, depart, gaps, cuts or None))
    return EngineResult(
        "pyvrp",
        routes,
        {
            "cost": best.distance_cost(),
            "feasible": best.is_feasible(),
            "seconds": time.monotonic() - started,
        },
    )


def _fitting(
    inst: Instance, trip: list[tuple[int, float]], cap: tuple[float, float, float]
) -> list[tuple[int, float]]:
    """The most of an overloaded trip's stops that fit its vehicle, smallest first (the rest
    are left to the fill-in), in their order."""

    def need(g: int) -> list[float]:
        node = inst.nodes[g]
        return [max(node.delivery[k], node.pickup[k]) for k in range(NUM_DIMS)]

    room = list(cap)
    kept: set[int] = set()
    for g, _ in sorted(trip, key=lambda x: need(x[0])):
        n = need(g)
        if all(n[k] <= room[k] + 1e-9 for k in range(NUM_DIMS)):
            kept.add(g)
            room = [room[k] - n[k] for k in range(NUM_DIMS)]
    return [x for x in trip if x[0] in kept]


def _only_overloaded(route: Any) -> bool:
    """A route whose only fault is its load (cut to fit, it keeps its times)."""
    return bool(
        route.has_excess_load() and not route.has_time_warp() and not route.has_excess_distance()
    )


def _client_for(members: list[int], clients: list[Any], start: float) -> int:
    """Of a stop's alternative clients, the one whose window holds the planned start."""
    for c in members:
        if clients[c].tw_early <= start + 1 <= clients[c].tw_late + 2:
            return c
    return members[-1]
