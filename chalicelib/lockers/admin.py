"""The operators' lockers: creating one with its compartments and kiosk key, and its view
(compartments by size and state, occupancy, dwell time, expiry rate)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from chalicelib.domain.errors import DepotNotFound, LockerNotFound, ValidationFailed
from chalicelib.domain.lockers import (
    Compartment,
    Locker,
    LockerAddress,
    OpeningHours,
    new_kiosk_key,
    new_locker_id,
)
from chalicelib.domain.tenancy import key_hash
from chalicelib.domain.times import from_epoch, utc_now
from chalicelib.store.lockers import LockerRepository


@dataclass(frozen=True)
class NewLocker:
    name: str
    lat: float
    lng: float
    depot_id: str
    compartments: list[tuple[str, str]]  # (compartment id, size)
    locker_id: str | None = None
    address: LockerAddress | None = None
    opening_hours: tuple[OpeningHours, ...] | None = None
    holding_hours: int = 72


class Depots(Protocol):
    def depot(self, depot_id: str) -> Any: ...


class LockerAdmin:
    def __init__(
        self, repo: LockerRepository, depots: Depots, clock: Callable[[], float] = time.time
    ) -> None:
        self._repo = repo
        self._depots = depots
        self._clock = clock

    def create(self, new: NewLocker) -> tuple[Locker, str]:
        """A locker and its compartments; its kiosk key is returned once (only a hash is kept)."""
        try:
            self._depots.depot(new.depot_id)
        except DepotNotFound as exc:
            raise ValidationFailed(f"depot_id: no depot {new.depot_id}", field="depot_id") from exc
        ids = [cid for cid, _ in new.compartments]
        if len(set(ids)) != len(ids):
            raise ValidationFailed("compartments: compartment_id must be unique")
        locker = Locker(
            locker_id=new.locker_id or new_locker_id(),
            name=new.name,
            lat=new.lat,
            lng=new.lng,
            depot_id=new.depot_id,
            created_at=utc_now(),
            address=new.address,
            holding_hours=new.holding_hours,
            **({"opening_hours": new.opening_hours} if new.opening_hours else {}),
        )
        kiosk_key = new_kiosk_key()
        compartments = [Compartment(cid, size) for cid, size in new.compartments]
        self._repo.create(locker, key_hash(kiosk_key), compartments)
        return locker, kiosk_key

    def view(self, locker_id: str) -> dict[str, Any]:
        """The operator's view: compartments by size and state, occupancy, dwell, expiry rate."""
        found = self._repo.get(locker_id)
        if found is None:
            raise LockerNotFound(f"no locker {locker_id}")
        locker, _, figures = found
        now = int(self._clock())
        compartments = self._repo.compartments(locker_id)
        by_size: dict[str, dict[str, int]] = {}
        for c in compartments:
            counts = by_size.setdefault(c.size, {})
            counts[c.state_at(now)] = counts.get(c.state_at(now), 0) + 1
        held = sum(1 for c in compartments if not c.available(now))
        attempts = self._repo.kiosk_attempts(locker_id)
        live = attempts.window_ends > now
        return {
            **locker.public(),
            "depot_id": locker.depot_id,
            "holding_hours": locker.holding_hours,
            "compartments": [
                {
                    "compartment_id": c.compartment_id,
                    "size": c.size,
                    "state": c.state_at(now),
                    **({"order_id": c.order_id} if c.order_id and not c.available(now) else {}),
                }
                for c in sorted(compartments, key=lambda c: c.compartment_id)
            ],
            "figures": {
                "by_size": by_size,
                "occupancy": round(held / len(compartments), 3) if compartments else 0.0,
                **figures.view(),
            },
            "kiosk": {
                "attempts": attempts.attempts if live else 0,
                "window_ends": from_epoch(attempts.window_ends) if live else None,
                "locked_until": from_epoch(attempts.locked_until)
                if attempts.locked_until > now
                else None,
                "lockouts": attempts.lockouts,
            },
        }
