"""When each vehicle is free for a run: its shift, less the routes it is already committed to
(until they come back: their planned end, or the live return to the depot when later), and the
breaks its driver still has to take. A vehicle is never planned onto two routes at once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.domain.dispatch import PlannedRoute
from chalicelib.domain.geo import great_circle_m
from chalicelib.domain.tenancy import ShiftBreak, Vehicle
from chalicelib.domain.times import parse_iso
from chalicelib.routing.model import PROFILES

MIN_FREE_S = 600  # a gap shorter than this takes no route


@dataclass(frozen=True)
class FreeTime:
    """The one stretch a run may plan a vehicle in, and the breaks owed within it."""

    start: datetime
    end: datetime
    breaks: tuple[ShiftBreak, ...] = ()


def _back_from(route: PlannedRoute, lat: float, lng: float, ready: datetime) -> datetime:
    """When the vehicle is at the depot again, leaving (lat, lng) at `ready` (the planner's
    travel model, the one live ETAs use)."""
    profile = PROFILES.get(route.profile, PROFILES["van"])
    metres = great_circle_m(lat, lng, route.depot_lat, route.depot_lng) * profile.detour_factor
    return ready + timedelta(seconds=metres / (profile.speed_kmh / 3.6))


def busy(route: PlannedRoute) -> tuple[datetime, datetime] | None:
    """From when until when the route holds its vehicle: from its start until the later of its
    planned end and its live return (from its last pending stop's live ETA, or, with every stop
    served, from where the vehicle was last seen). None: a route none of whose stops is left or
    was served, nor the vehicle seen on it (its orders all left before it set off)."""
    start = parse_iso(route.start_at)
    until = start + timedelta(seconds=route.duration_s)
    pending = [s for s in route.stops if s.state == "pending"]
    if pending:
        last = pending[-1]
        ready = parse_iso(last.eta) + timedelta(seconds=last.service_s)
        until = max(until, _back_from(route, last.lat, last.lng, ready))
    elif route.last_fix is not None:
        fix = route.last_fix
        until = max(until, _back_from(route, fix.lat, fix.lng, parse_iso(fix.received_at)))
    elif not any(s.state == "done" for s in route.stops):
        return None
    return start, until


def free_time(
    vehicle: Vehicle, committed: Iterable[PlannedRoute], since: datetime, until: datetime
) -> FreeTime | None:
    """The longest stretch of the vehicle's shift within [since, until] that none of its
    committed routes holds (the earliest of equals), with the breaks its driver still owes:
    those not planned on a committed route whose window has not closed before the stretch (a
    break is clipped to start within it). None when no stretch of MIN_FREE_S is left."""
    mine = [r for r in committed if r.vehicle_id == vehicle.vehicle_id]
    lo = max(since, parse_iso(vehicle.shift_start))
    hi = min(until, parse_iso(vehicle.shift_end))
    held = sorted(b for r in mine if (b := busy(r)) is not None)
    gaps: list[tuple[datetime, datetime]] = []
    cursor = lo
    for start, end in held:
        if start > cursor:
            gaps.append((cursor, min(start, hi)))
        cursor = max(cursor, end)
    gaps.append((cursor, hi))
    fitting = [(a, b) for a, b in gaps if (b - a).total_seconds() >= MIN_FREE_S]
    if not fitting:
        return None
    start, end = max(fitting, key=lambda g: (g[1] - g[0], -g[0].timestamp()))
    return FreeTime(start, end, owed_breaks(vehicle, mine, start, end))


def owed_breaks(
    vehicle: Vehicle, committed: Iterable[PlannedRoute], start: datetime, end: datetime
) -> tuple[ShiftBreak, ...]:
    """The breaks the driver still owes within [start, end]: those not planned on one of the
    vehicle's committed routes, whose window has not closed before `start` (clipped to it)."""
    taken = [
        parse_iso(at) for r in committed if r.vehicle_id == vehicle.vehicle_id for at in r.breaks_at
    ]
    owed = []
    for brk in vehicle.breaks:
        earliest, latest = parse_iso(brk.earliest), parse_iso(brk.latest)
        if any(earliest <= at <= latest for at in taken):
            continue  # taken on a route already out
        if latest < start or earliest >= end:
            continue  # its window closed before this stretch (or opens after it)
        clipped = (max(earliest, start).isoformat(), min(latest, end).isoformat())
        owed.append(ShiftBreak(*clipped, brk.duration_s))
    return tuple(owed)
