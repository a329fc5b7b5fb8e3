"""Timed outages of the local vendor stand-ins (`POST /local/vendors/{name}/outage`): while one
lasts, that stand-in answers every call with the outage's status, then recovers on its own."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

# The statuses an outage may answer with: throttling and the server errors vendors return.
OUTAGE_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_OUTAGE_S = 24 * 3600.0


class UnknownVendor(LookupError):
    """No stand-in of that name runs in this runtime."""


class Outage:
    """One stand-in's outage window; `status()` is what it must answer now (None: healthy)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._status: int | None = None
        self._until = 0.0

    def begin(self, status: int, seconds: float) -> None:
        """From now, answer `status` for `seconds` (0 ends an outage at once)."""
        with self._lock:
            self._status, self._until = status, self._clock() + seconds

    def status(self) -> int | None:
        with self._lock:
            if self._status is not None and self._clock() < self._until:
                return self._status
            self._status = None
            return None


class VendorOutages:
    """The stand-ins of one runtime that can be taken down, by vendor name."""

    def __init__(self, outages: dict[str, Outage]) -> None:
        self._outages = dict(outages)

    @property
    def vendors(self) -> list[str]:
        return sorted(self._outages)

    def begin(self, vendor: str, status: int, seconds: float) -> None:
        outage = self._outages.get(vendor)
        if outage is None:
            raise UnknownVendor(vendor)
        outage.begin(status, seconds)
