"""Travel matrices: the port the planner asks for distances and free-flow durations,
the built-in great-circle and Euclidean providers, and time-of-day slowdown."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from chalicelib.domain.geo import EARTH_RADIUS_M
from chalicelib.routing.model import Location, SlowdownPeriod, VehicleProfile


class TravelMatrix(Protocol):
    """Distances (metres) and free-flow durations (seconds) between every pair of points."""

    def matrices(
        self, points: Sequence[Location], profile: VehicleProfile
    ) -> tuple[np.ndarray, np.ndarray]: ...


def _coords(points: Sequence[Location]) -> tuple[np.ndarray, np.ndarray]:
    lat = np.fromiter((p.lat for p in points), dtype=float, count=len(points))
    lon = np.fromiter((p.lon for p in points), dtype=float, count=len(points))
    return lat, lon


def great_circle_m(points: Sequence[Location]) -> np.ndarray:
    lat, lon = (np.radians(a) for a in _coords(points))
    dlat = lat[:, None] - lat[None, :]
    dlon = lon[:, None] - lon[None, :]
    h = np.sin(dlat / 2) ** 2 + np.cos(lat)[:, None] * np.cos(lat)[None, :] * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


class GreatCircleTravel:
    """Great-circle distance times the profile's detour factor, at the profile's speed."""

    def matrices(
        self, points: Sequence[Location], profile: VehicleProfile
    ) -> tuple[np.ndarray, np.ndarray]:
        dist = great_circle_m(points) * profile.detour_factor
        return dist, dist / (profile.speed_kmh / 3.6)


class EuclideanTravel:
    """Plane distance between (lat, lon) read as (y, x); duration equals distance, as in
    the Solomon benchmark convention (one distance unit per time unit)."""

    def matrices(
        self, points: Sequence[Location], profile: VehicleProfile
    ) -> tuple[np.ndarray, np.ndarray]:
        y, x = _coords(points)
        dist = np.sqrt((x[:, None] - x[None, :]) ** 2 + (y[:, None] - y[None, :]) ** 2)
        return dist, dist.copy()


def slowdown_at(traffic: Sequence[SlowdownPeriod], t: float) -> float:
    """Travel-time factor for a departure at time t (1.0 outside every period)."""
    for period in traffic:
        if period.start <= t < period.end:
            return period.factor
    return 1.0


def worst_slowdown(traffic: Sequence[SlowdownPeriod], start: float, end: float) -> float:
    """Largest factor of any departure in [start, end]: planning with it keeps every
    window the plan promises, because real departures are never later than planned."""
    factor = 1.0
    for period in traffic:
        if period.start <= end and period.end > start:
            factor = max(factor, period.factor)
    return factor
