"""What a driver's phone may be trusted for: its clock (skewed, in the future, year 9999) and its
GPS fixes (null island, far outside the depot's area, a jump no vehicle could drive). What fails
is kept for the record and left out of ETAs, which run on server time."""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.domain.dispatch import Fix, PlannedRoute
from chalicelib.domain.geo import great_circle_m
from chalicelib.domain.times import parse_iso

# A phone's clock ahead of ours by more than this is wrong (NTP or GPS keeps phones within
# seconds); behind by more is a buffered event: a door event may be (offline, sent later), a
# position that old says nothing about where the van is now.
CLOCK_AHEAD = timedelta(minutes=5)
DOOR_EVENT_BEHIND = timedelta(hours=12)
FIX_BEHIND = timedelta(minutes=15)

NULL_ISLAND_DEG = 0.01  # (0, 0) and its neighbourhood: a phone that has no fix yet
AREA_MARGIN_M = 50_000.0  # beyond the route's farthest stop from the depot by this: elsewhere
MAX_SPEED_KMH = 180.0  # faster than any van, bike or car on the road
JUMP_SLACK_M = 1_000.0  # GPS jitter between two fixes a moment apart
JUMP_MEMORY = timedelta(minutes=30)  # an older last fix no longer bounds where the van can be
IGNORED_KEPT = 20  # the latest ignored fixes kept on the route item for the record


def clock_problem(claimed: datetime, received: datetime, *, fix: bool) -> str | None:
    """Why a phone's time cannot stand for when something happened, or None: `clock_ahead`, or
    `clock_behind` (a door event over 12 hours old, a position over 15 minutes old)."""
    skew = claimed - received
    if skew > CLOCK_AHEAD:
        return "clock_ahead"
    if -skew > (FIX_BEHIND if fix else DOOR_EVENT_BEHIND):
        return "clock_behind"
    return None


def fix_problem(route: PlannedRoute, lat: float, lng: float, at: datetime) -> str | None:
    """Why a fix (with a trusted time) cannot be where the route's van is, or None:
    `null_island`, `outside_area`, `out_of_order` (older than the last fix used), or
    `impossible_jump` (farther from the last fix than MAX_SPEED_KMH allows)."""
    if abs(lat) < NULL_ISLAND_DEG and abs(lng) < NULL_ISLAND_DEG:
        return "null_island"
    if great_circle_m(route.depot_lat, route.depot_lng, lat, lng) > area_radius_m(route):
        return "outside_area"
    last = route.last_fix
    if last is None:
        return None
    since = at - parse_iso(last.at)
    if since < timedelta(0):
        return "out_of_order"
    if since > JUMP_MEMORY:
        return None
    reach = MAX_SPEED_KMH / 3.6 * max(since.total_seconds(), 1.0) + JUMP_SLACK_M
    if great_circle_m(last.lat, last.lng, lat, lng) > reach:
        return "impossible_jump"
    return None


def area_radius_m(route: PlannedRoute) -> float:
    """How far from the depot the route's van may plausibly be."""
    farthest = max(
        (great_circle_m(route.depot_lat, route.depot_lng, s.lat, s.lng) for s in route.stops),
        default=0.0,
    )
    return farthest + AREA_MARGIN_M


def kept_ignored(route: PlannedRoute, fix: Fix) -> tuple[Fix, ...]:
    """The route's record of ignored fixes with `fix` added (the latest IGNORED_KEPT)."""
    return (*route.ignored_fixes, fix)[-IGNORED_KEPT:]
