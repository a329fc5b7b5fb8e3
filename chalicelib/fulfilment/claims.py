"""One fulfilment report per order and platform: claimed (with a lease) before the platform is
called, then settled reported or failed; a retryable failure releases the claim."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from chalicelib.domain.errors import ConcurrentUpdate

CLAIMED, REPORTED, FAILED = "claimed", "reported", "failed"
LEASE_S = 300  # longer than the notify function runs: a claim older than this was abandoned


class ClaimHeld(ConcurrentUpdate):
    """Another attempt is reporting this order's fulfilment right now (or died doing so)."""


@dataclass(frozen=True)
class FulfilmentClaim:
    """A claim as stored: its state and, once settled, what the platform answered."""

    order_id: str
    merchant_id: str
    platform: str
    state: str
    claimed_at: str
    lease_until: int
    settled_at: str | None = None
    fulfilment_id: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    reason: str | None = None
    http_status: int | None = None
    answer: str | None = None


class ClaimStore(Protocol):
    def claim(self, order_id: str, merchant_id: str, platform: str) -> bool: ...

    def release(self, order_id: str, platform: str) -> None: ...

    def settle(
        self,
        order_id: str,
        platform: str,
        state: str,
        *,
        fulfilment_id: str | None = None,
        tracking_number: str | None = None,
        tracking_url: str | None = None,
        reason: str | None = None,
        http_status: int | None = None,
        answer: str | None = None,
    ) -> None: ...
