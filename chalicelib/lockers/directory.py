"""Finding lockers: one by id, or a depot's nearest with room for some parcels (checkouts, the
kiosk's "full" hint, the customer's choices)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from chalicelib.domain.errors import LockerNotFound
from chalicelib.domain.geo import great_circle_m
from chalicelib.domain.lockers import Locker, allocate, free_by_size
from chalicelib.store.lockers import LockerRepository

NEAR_LIMIT = 5
# Lockers whose doors one search reads at most, nearest first: a public page or a checkout
# asking near a crowd of full lockers reads ten lockers' doors, not every locker's of the depot.
NEAR_CANDIDATES = 10


class LockerDirectory:
    def __init__(self, repo: LockerRepository, clock: Callable[[], float] = time.time) -> None:
        self._repo = repo
        self._clock = clock

    def locker(self, locker_id: str) -> Locker:
        found = self._repo.get(locker_id)
        if found is None:
            raise LockerNotFound(f"no locker {locker_id}")
        return found[0]

    def near(
        self,
        lat: float,
        lng: float,
        depot_id: str,
        sizes: list[str],
        limit: int = NEAR_LIMIT,
        exclude: str | None = None,
        radius_m: float | None = None,
    ) -> list[dict[str, Any]]:
        """The depot's lockers nearest (lat, lng) with a free compartment for every parcel, among
        the NEAR_CANDIDATES nearest (one query of each one's doors, stopping at `limit`)."""
        now = int(self._clock())
        found = []
        lockers = sorted(
            (lk for lk in self._repo.for_depot(depot_id) if lk.locker_id != exclude),
            key=lambda lk: great_circle_m(lat, lng, lk.lat, lk.lng),
        )
        for locker in lockers[:NEAR_CANDIDATES]:
            away = great_circle_m(lat, lng, locker.lat, locker.lng)
            if radius_m is not None and away > radius_m:
                break
            doors = self._repo.compartments(locker.locker_id)
            if allocate(sizes, [c for c in doors if c.available(now)]) is None:
                continue
            free = free_by_size(doors, now)
            found.append({**locker.public(), "distance_m": round(away), "free": free})
            if len(found) >= limit:
                break
        return found
