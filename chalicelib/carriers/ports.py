"""What the overflow handoff needs from a partner carrier: quote a delivery, create it from the
quote, cancel it, and read its signed status webhooks. Adapters implement these; tests fake them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

UBER_DIRECT = "uber_direct"
DOORDASH_DRIVE = "doordash_drive"
CARRIERS = (UBER_DIRECT, DOORDASH_DRIVE)


@dataclass(frozen=True)
class Place:
    """One end of a carrier delivery: what the courier needs to find it and whom to ask for."""

    address: str  # one line, as the carriers take it
    lat: float
    lng: float
    name: str
    phone: str | None = None


@dataclass(frozen=True)
class Handoff:
    """What we ask a carrier to carry: our order id is its external id (and idempotency key),
    so asking twice never makes two deliveries."""

    order_id: str
    pickup: Place
    dropoff: Place
    ready_at: str  # ISO 8601: when the parcel can be collected
    deliver_by: str  # ISO 8601: the end of the window promised to the customer
    items: int  # parcels


@dataclass(frozen=True)
class Money:
    amount: int  # minor units (cents, pence)
    currency: str  # ISO 4217, upper case


@dataclass(frozen=True)
class Quote:
    carrier: str
    quote_id: str
    fee: Money
    dropoff_eta: str  # ISO 8601: when the carrier expects to deliver
    expires_at: str  # ISO 8601: after this the quote cannot be accepted


@dataclass(frozen=True)
class CarrierJob:
    carrier: str
    job_id: str
    status: str  # the carrier's own word (pending, pickup...)
    fee: Money
    quote_id: str


@dataclass(frozen=True)
class CourierPosition:
    lat: float
    lng: float


def courier_position(location: object) -> CourierPosition | None:
    """A webhook's `{lat, lng}` as a position, or None when absent or not a place on Earth."""
    if not isinstance(location, dict):
        return None
    lat, lng = location.get("lat"), location.get("lng")
    if not (isinstance(lat, int | float) and isinstance(lng, int | float)):
        return None
    if isinstance(lat, bool) or isinstance(lng, bool):
        return None
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        return None
    return CourierPosition(float(lat), float(lng))


@dataclass(frozen=True)
class CarrierUpdate:
    """One status webhook, translated: whose job, which of its statuses, the courier if sent."""

    carrier: str
    job_id: str
    external_id: str | None  # our order id, when the carrier echoes it
    status: str
    at: str
    courier: CourierPosition | None = None


class CarrierUnavailable(Exception):
    """5xx, throttling (429), timeout or no connection: worth asking again later."""


class CarrierDeclined(Exception):
    """The carrier will not take this delivery (4xx: out of its area, no courier, expired
    quote): asking again the same way will not help."""


class Carrier(Protocol):
    name: str

    def quote(self, handoff: Handoff) -> Quote:
        """A price and a dropoff time for `handoff`; CarrierDeclined or CarrierUnavailable."""
        ...

    def create(self, handoff: Handoff, quote: Quote) -> CarrierJob:
        """The delivery made from `quote`, keyed by our order id (the same job if asked again)."""
        ...

    def cancel(self, job_id: str) -> None:
        """Call the courier off; CarrierDeclined once it cannot be cancelled any more."""
        ...

    def update(self, raw_body: bytes, headers: Mapping[str, str]) -> CarrierUpdate:
        """A status webhook verified (SignatureInvalid unless signed by this carrier, checked on
        the raw body before it is parsed) and translated; MalformedBody if it does not parse."""
        ...
