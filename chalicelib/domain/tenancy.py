"""Merchants and depots: who sends orders, and where their parcels leave from."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


def is_https_url(url: str) -> bool:
    """An absolute https URL with a host and nothing unprintable (a help link on a page)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # an unclosed IPv6 bracket, a port that is no number
        return False
    return (
        parts.scheme == "https"
        and bool(host)
        and url.isprintable()
        and not any(c.isspace() for c in url)
    )


@dataclass(frozen=True)
class Brand:
    """How a merchant's customers see it on the tracking page: the name shown (else the
    merchant's), a colour `#rrggbb` and an https help link, each optional."""

    display_name: str | None = None
    colour: str | None = None
    help_url: str | None = None

    def fields(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if v is not None}


@dataclass(frozen=True)
class Merchant:
    merchant_id: str
    name: str
    depot_id: str
    created_at: str
    stripe_account_id: str | None = None
    # Customer messages the merchant switched off, as "<type>:<channel>" (all on by default).
    notifications_off: tuple[str, ...] = ()
    # The depots that may fulfil its orders, `depot_id` first (allocation/ chooses per order).
    depot_ids: tuple[str, ...] = ()
    brand: Brand = field(default_factory=Brand)

    @property
    def serving_depots(self) -> tuple[str, ...]:
        return self.depot_ids or (self.depot_id,)


@dataclass(frozen=True)
class Depot:
    depot_id: str
    name: str
    lat: float
    lng: float
    timezone: str
    created_at: str
    dispatch: dict[str, Any] = field(default_factory=dict)
    # As a fulfilment location: service area, daily capacity, cut-off (allocation/rules.py).
    fulfilment: dict[str, Any] = field(default_factory=dict)
    # Partner carriers offered the orders its fleet cannot take (chalicelib/carriers):
    # `[{carrier, max_price: {amount, currency}, enabled}]`.
    carriers: tuple[dict[str, Any], ...] = ()


VEHICLE_PROFILES = ("van", "electric_van", "cargo_bike", "on_foot", "drone")


@dataclass(frozen=True)
class ShiftBreak:
    """A driver's break of `duration_s` seconds, to start between `earliest` and `latest`
    (ISO 8601 with offset)."""

    earliest: str
    latest: str
    duration_s: float


@dataclass(frozen=True)
class Vehicle:
    """One vehicle of a depot's fleet; shift times are ISO 8601 with offset."""

    vehicle_id: str
    profile: str
    capacity_parcels: int
    capacity_weight_kg: float
    shift_start: str
    shift_end: str
    skills: tuple[str, ...] = ()
    breaks: tuple[ShiftBreak, ...] = ()
    # Trips a shift may hold (back at the depot to reload between them), and how long a reload
    # takes: a cargo bike of 20 parcels makes three rounds in a morning.
    max_trips: int = 1
    reload_s: float = 600.0


@dataclass(frozen=True)
class MerchantCredentials:
    """Shown once at creation; only the API key's hash is kept."""

    api_key: str
    webhook_secret: str


def new_merchant_id() -> str:
    return "mer_" + secrets.token_hex(8)


def new_depot_id() -> str:
    return "dep_" + secrets.token_hex(6)


def new_credentials() -> MerchantCredentials:
    # Standard Webhooks secrets are "whsec_" + base64 of 24+ random bytes.
    webhook_secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    return MerchantCredentials(
        api_key="lm_" + secrets.token_urlsafe(32), webhook_secret=webhook_secret
    )


def key_hash(key: str) -> str:
    """SHA-256 of a high-entropy key: enough to store it, and to find it, without keeping it."""
    return hashlib.sha256(key.encode()).hexdigest()
