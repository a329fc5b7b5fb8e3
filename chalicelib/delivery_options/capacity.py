"""What the fleet can still take, per two-hour slot: seats (one per parcel) from the vehicles'
shifts and profiles. Pure: no AWS, no clock of its own."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.domain.tenancy import Vehicle
from chalicelib.domain.times import iso_z, parse_iso

SLOT = timedelta(hours=2)
LEAD = timedelta(minutes=30)  # a slot starting sooner cannot be loaded and driven out in time
# Stops a vehicle makes in an hour of its shift (a city van's pace; a parcel needs at least one
# stop, so this bounds parcels too). Vehicle-hours times this is a slot's stop capacity.
STOPS_PER_VEHICLE_HOUR = 8
MAX_SEATS = 2_000  # of one slot: no fleet of a depot serves more in two hours


@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime
    seats: int  # parcels the fleet can take in the window

    @property
    def key(self) -> str:
        return iso_z(self.start)


def _overlap_h(start: datetime, end: datetime, a: datetime, b: datetime) -> float:
    return max(0.0, (min(end, b) - max(start, a)).total_seconds() / 3600)


def slots(vehicles: list[Vehicle], now: datetime, date_from: datetime | None = None) -> list[Slot]:
    """The two-hour slots (whole hours, UTC) within the fleet's shifts that start after the
    lead time, each with its seats: the smaller of the fleet's parcel capacity (each vehicle's
    share for the hours of its shift in the slot) and its stop capacity (vehicle-hours)."""
    shifts = [(parse_iso(v.shift_start), parse_iso(v.shift_end), v) for v in vehicles]
    shifts = [(a, b, v) for a, b, v in shifts if b > a]
    if not shifts:
        return []
    earliest = max(min(a for a, _, _ in shifts), now + LEAD, date_from or now)
    latest = max(b for _, b, _ in shifts)
    start = earliest.replace(minute=0, second=0, microsecond=0)
    if start < earliest:
        start += timedelta(hours=1)
    found: list[Slot] = []
    while start + SLOT <= latest:
        end = start + SLOT
        parcels = 0.0
        stops = 0.0
        for a, b, vehicle in shifts:
            hours = _overlap_h(start, end, a, b)
            if hours:
                shift_h = (b - a).total_seconds() / 3600
                parcels += vehicle.capacity_parcels * hours / shift_h
                stops += hours * STOPS_PER_VEHICLE_HOUR
        seats = min(MAX_SEATS, math.floor(min(parcels, stops)))
        if seats > 0:
            found.append(Slot(start, end, seats))
        start = end
    return found
