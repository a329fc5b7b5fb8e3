"""Rate-limit windows in the main table: one counter item per client and window, counted by one
atomic conditional ADD per request, gone by TTL after the window."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.domain.errors import DomainError
from chalicelib.store.models.tracking import RateWindowItem
from chalicelib.store.transaction import failing_as

COUNTER_SK = "RATE"


class RateWindows:
    def count(self, window_key: str, *, limit: int, expires_at: int, on_full: DomainError) -> int:
        """Count one request in the window `window_key`; the count so far. Raises `on_full`
        (and counts nothing) once the window holds `limit` requests. `expires_at` is epoch
        seconds, set by the window's first request."""
        window = RateWindowItem(window_key, COUNTER_SK)
        expiry = datetime.fromtimestamp(expires_at, UTC)
        with failing_as(on_full):
            window.update(
                [
                    RateWindowItem.hits.add(1),
                    RateWindowItem.expires_at.set(RateWindowItem.expires_at | expiry),
                    # An update, unlike a put, writes no discriminator of itself.
                    RateWindowItem.entity.set(RateWindowItem),
                ],
                condition=RateWindowItem.hits.does_not_exist() | (RateWindowItem.hits < limit),
            )
        return int(window.hits or 0)
