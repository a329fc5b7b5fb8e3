"""Finding coordinates for an address that came without them, behind one port."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from chalicelib.domain.order import Address


@dataclass(frozen=True)
class Located:
    lat: float
    lng: float


@dataclass(frozen=True)
class NotLocated:
    """Why no coordinates came back: shown to the merchant on the held order."""

    reason: str


class Geocoder(Protocol):
    def locate(self, address: Address) -> Located | NotLocated: ...


class NoGeocoder:
    """Where no geocoder is configured (the local runtime): every address waits for a fix."""

    def locate(self, address: Address) -> Located | NotLocated:
        return NotLocated("address has no coordinates and no geocoder is configured")
