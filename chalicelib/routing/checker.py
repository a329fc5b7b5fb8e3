"""Independent plan checker: re-times every route from the problem alone with exact
(double) travel times and verifies every promise the plan makes. Used by tests and bench;
shares no scheduling code with the planner."""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.routing.model import COMPARTMENT_SIZES, REASONS, Location, Plan, Problem, Stop
from chalicelib.routing.travel import EuclideanTravel, GreatCircleTravel, TravelMatrix, slowdown_at

TOL = 1e-6


@dataclass
class CheckReport:
    violations: list[str] = field(default_factory=list)
    distance: float = 0.0
    vehicles: int = 0

    @property
    def ok(self) -> bool:
        return not self.violations


def _fits(free: dict[str, int], sizes: list[str]) -> bool:
    left = dict(free)
    for size in sorted(sizes, key=COMPARTMENT_SIZES.index, reverse=True):
        options = [c for c in COMPARTMENT_SIZES[COMPARTMENT_SIZES.index(size) :] if left.get(c)]
        if not options:
            return False
        left[options[0]] -= 1
    return True


def check_plan(problem: Problem, plan: Plan, travel: TravelMatrix | None = None) -> CheckReport:
    travel = travel or (EuclideanTravel() if problem.travel == "euclidean" else GreatCircleTravel())
    report = CheckReport()
    bad = report.violations.append
    stops = {s.id: s for s in problem.stops}
    depots = {d.id: d for d in problem.depots}
    vehicles = {v.id: v for v in problem.vehicles}
    lockers = {lk.id: lk for lk in problem.lockers}
    seen: dict[str, str] = {}
    locker_parcels: dict[str, list[str]] = {}
    used_vehicles: set[str] = set()

    for u in plan.unassigned:
        if u.stop_id not in stops:
            bad(f"unassigned {u.stop_id} is not a stop of the problem")
        if u.reason not in REASONS:
            bad(f"unassigned {u.stop_id} has unknown reason {u.reason!r}")
        if u.stop_id in seen:
            bad(f"stop {u.stop_id} reported twice")
        seen[u.stop_id] = "unassigned"

    for route in plan.routes:
        veh = vehicles.get(route.vehicle_id)
        if veh is None:
            bad(f"route for unknown vehicle {route.vehicle_id}")
            continue
        if route.vehicle_id in used_vehicles:
            bad(f"vehicle {route.vehicle_id} has two routes")
        used_vehicles.add(route.vehicle_id)
        tag = f"vehicle {veh.id}"
        points: list[Location] = [depots[veh.depot_id].location]
        cap = (float(veh.capacity.parcels), veh.weight_capacity, veh.capacity.volume)
        # Each trip leaves the depot with its own deliveries; a reload after visit k is
        # a step of its own, back at the start depot.
        reload_after = {r.after_visit: r for r in route.reloads}
        if len(reload_after) != len(route.reloads) or any(
            not 0 <= k < len(route.visits) - 1 for k in reload_after
        ):
            bad(f"{tag} reloads twice at once, before its first or after its last visit")
        if len(route.reloads) + 1 > max(veh.max_trips, 1):
            bad(f"{tag} makes {len(route.reloads) + 1} trips, at most {veh.max_trips}")
        trip_loads: list[list[float]] = [[0.0, 0.0, 0.0]]
        load = trip_loads[0]
        step_of_visit: list[int] = []
        picked: set[str] = set()
        steps: list[tuple[str, list[Stop]]] = []
        for n, visit in enumerate(route.visits):
            if n - 1 in reload_after:
                points.append(depots[veh.depot_id].location)
                steps.append(("reload", []))
                trip_loads.append([0.0, 0.0, 0.0])
                load = trip_loads[-1]
            step_of_visit.append(len(steps))
            members = []
            for sid in visit.stop_ids:
                stop = stops.get(sid)
                if stop is None:
                    bad(f"{tag} visits unknown stop {sid}")
                    continue
                members.append(stop)
                if not stop.skills <= veh.skills:
                    bad(f"{tag} lacks skills {sorted(stop.skills - veh.skills)} for {sid}")
                if visit.kind == "drop":
                    if stop.kind != "pickup":
                        bad(f"{tag} drops {sid}, which is not a pickup")
                    if sid not in picked:
                        bad(f"{tag} drops {sid} before picking it up")
                    picked.discard(sid)
                    seen[sid + "#drop"] = veh.id
                    continue
                if sid in seen:
                    bad(f"stop {sid} served twice or also unassigned")
                seen[sid] = veh.id
                if stop.kind == "pickup":
                    picked.add(sid)
                else:
                    for k, x in enumerate(stop.demand.as_tuple()):
                        load[k] += x
                if stop.kind == "locker":
                    assert stop.locker_id is not None
                    sizes = list(stop.parcel_sizes) or ["S"] * max(stop.demand.parcels, 1)
                    locker_parcels.setdefault(stop.locker_id, []).extend(sizes)
            if visit.kind == "drop":
                sid = visit.stop_ids[0]
                drop = stops[sid].drop_depot_id if sid in stops else None
                points.append(depots[drop or problem.depots[0].id].location)
            elif members and members[0].kind == "locker":
                if len({m.locker_id for m in members}) != 1:
                    bad(f"{tag} serves several lockers in one visit")
                points.append(lockers[members[0].locker_id or ""].location)
                if not all(m.kind == "locker" for m in members):
                    bad(f"{tag} mixes locker and other stops in one visit")
            elif len(members) == 1:
                points.append(members[0].location)
            else:
                bad(f"{tag} has a visit with {len(members)} non-locker stops")
                points.append(members[0].location if members else points[-1])
            steps.append((visit.kind, members))
        for sid in picked:
            bad(f"{tag} never drops pickup {sid}")
        for trip, out in enumerate(trip_loads, start=1):
            if any(out[k] > cap[k] + TOL for k in range(3)):
                bad(f"{tag} leaves the depot over capacity {out} > {cap} (trip {trip})")
        load = list(trip_loads[0])
        reloads_done = 0
        points.append(depots[veh.end_depot].location)
        dist_m, dur_m = travel.matrices(points, veh.profile)

        # Each owed break is either planned on the road, or left for the depot (before
        # leaving or after returning), which the route's start and end must allow.
        breaks_by_gap: dict[int, list[float]] = {}
        planned = sorted(route.breaks, key=lambda b: b.start)
        off_road = []
        for b in sorted(veh.breaks, key=lambda b: b.earliest):
            pb = planned[0] if planned else None
            if pb is not None and b.earliest - TOL <= pb.start and pb.start <= b.latest + TOL:
                planned.pop(0)
                if abs(pb.duration - b.duration) > TOL:
                    bad(f"{tag} break lasts {pb.duration}, owes {b.duration}")
                # The leg after the step of visit `after_visit` (a reload's way in).
                leg = step_of_visit[pb.after_visit] + 1 if pb.after_visit >= 0 else 0
                if pb.after_visit >= len(step_of_visit):
                    leg = len(steps)
                breaks_by_gap.setdefault(leg, []).extend([b.earliest, b.latest, b.duration])
            else:
                off_road.append(b)
        if planned:
            bad(f"{tag} takes breaks it does not owe or outside their windows")

        t = route.start
        distance = 0.0
        if t < veh.shift.start - TOL:
            bad(f"{tag} starts before its shift")
        for g in range(len(points) - 1):
            travel_s = float(dur_m[g, g + 1]) * slowdown_at(problem.traffic, t)
            distance += float(dist_m[g, g + 1])
            spec = breaks_by_gap.get(g, [])
            remaining = travel_s
            for k in range(0, len(spec), 3):
                earliest, latest, duration = spec[k : k + 3]
                if earliest > t:
                    drive = min(remaining, earliest - t)
                    t += drive
                    remaining -= drive
                begin = max(t, earliest)
                if begin > latest + TOL:
                    bad(f"{tag} cannot start its break by {latest}")
                t = begin + duration
            t += remaining
            if g == len(steps):
                break
            kind, members = steps[g]
            if kind == "reload":
                reported = sorted(route.reloads, key=lambda r: r.after_visit)[reloads_done]
                reloads_done += 1
                if any(x > TOL for x in load):
                    bad(f"{tag} reloads with {load} still on board")
                if reported.arrival < t - 1e-3:
                    bad(f"{tag} reports its reload at {reported.arrival:.1f}, back at {t:.1f}")
                if reported.departure - reported.arrival < veh.reload_s - TOL:
                    bad(
                        f"{tag} reloads in {reported.departure - reported.arrival:.1f} s, "
                        f"needs {veh.reload_s}"
                    )
                t = max(t + veh.reload_s, reported.departure)
                load = list(trip_loads[reloads_done])
                continue
            if kind == "drop":
                for k, x in enumerate(members[0].demand.as_tuple() if members else ()):
                    load[k] -= x
                continue
            start = t
            for m in members:
                open_windows = [w for w in m.windows if w.end + TOL >= t]
                if m.windows and not open_windows:
                    bad(f"{tag} reaches {m.id} at {t:.4f}, after its last window")
                elif open_windows:
                    start = max(start, min(max(t, w.start) for w in open_windows))
            for m in members:
                if m.windows and not any(w.start - TOL <= start <= w.end + TOL for w in m.windows):
                    bad(f"{tag} serves {m.id} at {start:.4f}, outside its windows")
            if members and members[0].kind == "locker":
                lk = lockers[members[0].locker_id or ""]
                parcels = sum(m.demand.parcels for m in members)
                service = lk.service_base_s + lk.service_per_parcel_s * parcels
            else:
                service = sum(m.service_s for m in members)
            t = start + service
            for m in members:
                sign = 1.0 if m.kind == "pickup" else -1.0
                for k, x in enumerate(m.demand.as_tuple()):
                    load[k] += sign * x
            if any(load[k] > cap[k] + TOL for k in range(3)):
                bad(f"{tag} over capacity after {[m.id for m in members]}")
        end = t
        for b in off_road:
            if not (end <= b.latest + TOL or route.start >= b.earliest + b.duration - TOL):
                bad(f"{tag} is on the road through its break window and takes no break")
        if end > veh.shift.end + TOL:
            bad(f"{tag} returns at {end:.4f}, after its shift ends {veh.shift.end}")
        if veh.max_duration_s is not None and end - route.start > veh.max_duration_s + TOL:
            bad(f"{tag} route lasts {end - route.start:.1f} s > {veh.max_duration_s}")
        limit = veh.distance_limit
        if limit is not None and distance > limit + TOL:
            bad(f"{tag} drives {distance:.1f} m > limit {limit}")
        if abs(distance - route.distance_m) > 1e-6 * max(1.0, distance):
            bad(f"{tag} reports {route.distance_m} m, recomputed {distance}")
        report.distance += distance
        report.vehicles += 1

    for locker_id, sizes in locker_parcels.items():
        if not _fits(lockers[locker_id].free, sizes):
            bad(f"locker {locker_id} receives more parcels than it has free compartments")
    for sid in stops:
        if sid not in seen:
            bad(f"stop {sid} is neither routed nor unassigned")
    if abs(report.distance - plan.distance_m) > 1e-6 * max(1.0, report.distance):
        bad(f"plan reports {plan.distance_m} m, recomputed {report.distance}")
    return report
