"""Which depot fulfils an order, as pure functions: the depots whose area covers the address and
whose cut-off still allows the promised day, then those under their daily capacity that hold
every line; fewest shipments first, then nearest (Shopify's default routing rules: fewest
splits, then closest). No single depot: the fewest depots that together hold every line."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import combinations
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.allocation.areas import ServiceArea
from chalicelib.domain.geo import great_circle_m
from chalicelib.domain.order import (
    OUT_OF_AREA,
    OUT_OF_STOCK,
    OVER_CAPACITY,
    PAST_CUTOFF,
    Line,
)
from chalicelib.domain.tenancy import Depot

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_SHIPMENTS = 3  # an order splits into at most this many shipments (else out_of_stock)
# Lines per order: each is one stock update in the order's creating transaction, beside the
# order's own items (3 shipments of about 8 items each): all under DynamoDB's 100.
MAX_LINES = 50


@dataclass(frozen=True)
class Location:
    """A depot as allocation sees it."""

    depot_id: str
    lat: float
    lng: float
    timezone: str
    area: ServiceArea
    capacity: int | None = None  # per local day; None: unlimited
    capacity_unit: str = "orders"  # or "parcels"
    cutoff: time | None = None  # local; None: every order goes the same day
    # Per weekday (0 Monday): another cut-off, or None where the depot does not deliver.
    by_weekday: tuple[tuple[int, time | None], ...] = ()

    @classmethod
    def of(cls, depot: Depot) -> Location:
        settings: Mapping[str, Any] = depot.fulfilment or {}
        capacity = settings.get("daily_capacity") or {}
        unit = "parcels" if capacity.get("parcels") is not None else "orders"
        limit = capacity.get(unit)
        cutoff = settings.get("cutoff")
        by_weekday = tuple(
            (WEEKDAYS.index(name), time.fromisoformat(value) if value else None)
            for name, value in (settings.get("cutoffs") or {}).items()
        )
        return cls(
            depot_id=depot.depot_id,
            lat=float(depot.lat),
            lng=float(depot.lng),
            timezone=depot.timezone,
            area=ServiceArea.from_dict(settings.get("service_area")),
            capacity=int(limit) if limit is not None else None,
            capacity_unit=unit,
            cutoff=time.fromisoformat(cutoff) if cutoff else None,
            by_weekday=by_weekday,
        )

    def delivers(self, day: date) -> bool:
        table = dict(self.by_weekday)
        return day.weekday() not in table or table[day.weekday()] is not None

    def cutoff_on(self, day: date) -> time | None:
        """The cut-off of that local day (None: none, or no delivery that day)."""
        return dict(self.by_weekday).get(day.weekday(), self.cutoff)

    def load(self, parcels: int) -> int:
        """What one shipment of `parcels` parcels counts against the daily capacity."""
        return parcels if self.capacity_unit == "parcels" else 1


def promised_day(location: Location, now: datetime, window_start: datetime | None) -> date | None:
    """The depot's local day the order is promised for, or None when its cut-off has passed
    (or the depot does not deliver that day).

    With a delivery window: the window's local day, if now is before that day's cut-off.
    Without one: the first day the depot delivers whose cut-off is still ahead (today before
    today's cut-off, else the next delivery day)."""
    zone = ZoneInfo(location.timezone)
    local_now = now.astimezone(zone)
    if window_start is not None:
        day = window_start.astimezone(zone).date()
        return day if _open_until(location, day, local_now, zone) else None
    for ahead in range(8):
        day = local_now.date() + timedelta(days=ahead)
        if _open_until(location, day, local_now, zone):
            return day
    return None


def _open_until(location: Location, day: date, local_now: datetime, zone: ZoneInfo) -> bool:
    if not location.delivers(day):
        return False
    cutoff = location.cutoff_on(day)
    return cutoff is None or local_now < datetime.combine(day, cutoff, zone)


@dataclass(frozen=True)
class Reach:
    """A depot that can reach the address in time: how far, and for which local day."""

    location: Location
    distance_m: float
    day: date


def reachable(
    locations: Sequence[Location],
    lat: float | None,
    lng: float | None,
    now: datetime,
    window_start: datetime | None,
    *,
    check_area: bool = True,
) -> tuple[list[Reach], str | None]:
    """The depots whose area covers the point and whose cut-off allows the promised day,
    nearest first; when none, why (`out_of_area`, `past_cutoff`)."""
    covering: list[tuple[Location, float]] = []
    for location in locations:
        distance = (
            great_circle_m(location.lat, location.lng, lat, lng)
            if lat is not None and lng is not None
            else 0.0
        )
        inside = lat is None or lng is None or not check_area
        if inside or location.area.covers(location.lat, location.lng, lat, lng):  # type: ignore[arg-type]
            covering.append((location, distance))
    if not covering:
        return [], OUT_OF_AREA
    reaches = []
    for location, distance in covering:
        day = promised_day(location, now, window_start)
        if day is not None:
            reaches.append(Reach(location, distance, day))
    if not reaches:
        return [], PAST_CUTOFF
    reaches.sort(key=lambda r: (r.distance_m, r.location.depot_id))
    return reaches, None


@dataclass(frozen=True)
class Shipment:
    """What one depot sends of an order: its lines (all of them, unless split), those whose
    stock it reserves (the SKUs it tracks), on which day, and what it counts against that
    day's capacity."""

    depot_id: str
    lines: tuple[Line, ...]
    day: date
    load: int
    capacity: int | None
    reserve: tuple[Line, ...] = ()


@dataclass(frozen=True)
class Plan:
    """The shipments an order goes out in; none, with the reason, when nothing can serve it."""

    shipments: tuple[Shipment, ...] = ()
    reason: str | None = None


def merge_lines(lines: Sequence[Line]) -> tuple[Line, ...]:
    """One line per SKU (a transaction touches an item once), in first-seen order."""
    totals: dict[str, int] = {}
    for line in lines:
        totals[line.sku] = totals.get(line.sku, 0) + line.quantity
    return tuple(Line(sku, quantity) for sku, quantity in totals.items() if quantity > 0)


def choose(
    reaches: Sequence[Reach],
    lines: Sequence[Line],
    parcels: int,
    free: Mapping[tuple[str, str], int],
    used: Mapping[tuple[str, date], int],
    *,
    split: bool = True,
) -> Plan:
    """The plan for an order among depots that reach it (nearest first): `free` is each depot's
    unreserved stock by (depot, sku), `used` its capacity used by (depot, day). One depot
    holding every line, nearest first; else (with `split`) the fewest depots that together hold
    every line (each line whole from one), the nearest such set; else out_of_stock, or
    over_capacity when the only depots holding the lines are full."""
    lines = merge_lines(lines)
    open_reaches = [r for r in reaches if _has_room(r, used, r.location.load(parcels))]
    if not lines:
        if not open_reaches:
            return Plan(reason=OVER_CAPACITY)
        return Plan((_shipment(open_reaches[0], (), parcels),))
    for reach in open_reaches:
        if all(free.get((reach.location.depot_id, line.sku), 0) >= line.quantity for line in lines):
            return Plan((_shipment(reach, lines, parcels),))
    if split:
        # A shipment of a split order is one parcel (its share of the weight: api docs).
        splittable = [r for r in reaches if _has_room(r, used, r.location.load(1))]
        for size in range(2, min(MAX_SHIPMENTS, len(splittable), len(lines)) + 1):
            best: tuple[float, tuple[Shipment, ...]] | None = None
            for group in combinations(splittable, size):
                shipments = _assign(group, lines, free)
                if shipments is None:
                    continue
                distance = sum(r.distance_m for r in group)
                if best is None or distance < best[0]:
                    best = (distance, shipments)
            if best is not None:
                return Plan(best[1])
    holding = [
        r
        for r in reaches
        if all(free.get((r.location.depot_id, line.sku), 0) >= line.quantity for line in lines)
    ]
    return Plan(reason=OVER_CAPACITY if holding else OUT_OF_STOCK)


def _has_room(reach: Reach, used: Mapping[tuple[str, date], int], load: int) -> bool:
    limit = reach.location.capacity
    taken = used.get((reach.location.depot_id, reach.day), 0)
    return limit is None or taken + load <= limit


def _shipment(reach: Reach, lines: tuple[Line, ...], parcels: int) -> Shipment:
    location = reach.location
    return Shipment(
        location.depot_id, lines, reach.day, location.load(parcels), location.capacity, lines
    )


def _assign(
    group: Sequence[Reach], lines: Sequence[Line], free: Mapping[tuple[str, str], int]
) -> tuple[Shipment, ...] | None:
    """Each line from the nearest depot of the group that holds all of it; None unless every
    line is placed and every depot of the group sends something (else a smaller group does)."""
    placed: dict[str, list[Line]] = {r.location.depot_id: [] for r in group}
    for line in lines:
        holder = next(
            (r for r in group if free.get((r.location.depot_id, line.sku), 0) >= line.quantity),
            None,
        )
        if holder is None:
            return None
        placed[holder.location.depot_id].append(line)
    if any(not held for held in placed.values()):
        return None
    return tuple(_shipment(r, tuple(placed[r.location.depot_id]), 1) for r in group)
