"""Smart lockers: compartments by size, opening hours, the holding period, and the pickup-code
policy (8 random digits, bound to one locker, kept only as a salted, keyed hash)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Any

# Compartment sizes, smallest first, with their inside dimensions in cm (height x width x
# depth): a parcel goes into the smallest free compartment it fits.
SIZES: dict[str, tuple[int, int, int]] = {"S": (8, 38, 64), "M": (19, 38, 64), "L": (41, 38, 64)}
UNKNOWN_PARCEL_SIZE = "M"  # a parcel the storefront did not size is taken as medium

DEFAULT_HOLDING_HOURS = 72
EXTENSION_HOURS = 48  # the one extension a customer may ask for
REMINDER_BEFORE = timedelta(hours=24)
MAX_RESENDS = 3  # new codes a customer may ask for per parcel
CODE_DIGITS = 8
# Pickup attempts looked at per LOCKOUT_WINDOW at one locker (each counted before its code is);
# the last of them refused locks the kiosk ...
LOCKOUT_FAILURES = 5
LOCKOUT_WINDOW = timedelta(minutes=15)
LOCKOUT_FOR = timedelta(minutes=15)  # ... for this long
# An order's parcels one locker takes: each parcel is a door written in the deposit's (and the
# pickup's, the expiry's) one transaction, beside the parcel, its live code, the locker's
# figures and the order's own writes, within DynamoDB's 100 items a transaction.
MAX_LOCKER_PARCELS = 90
TRANSACTION_ITEMS = 100  # DynamoDB's limit on one TransactWriteItems
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class CompartmentState(StrEnum):
    FREE = "free"
    RESERVED = "reserved"  # for a planned order's parcel, until `reserved_until`
    OCCUPIED = "occupied"  # a parcel waits for its customer
    AWAITING_RETRIEVAL = "awaiting_retrieval"  # an uncollected parcel waits for a driver


class ParcelState(StrEnum):
    """A parcel's stay in a locker."""

    DEPOSITED = "deposited"
    COLLECTED = "collected"
    EXPIRED = "expired"  # not collected in time: waits for a driver
    RETRIEVAL_PLANNED = "retrieval_planned"
    RETRIEVED = "retrieved"


@dataclass(frozen=True)
class OpeningHours:
    """Days and local times the kiosk can be used; "00:00"-"24:00" every day is always open."""

    days: tuple[str, ...]
    open: str  # "HH:MM"
    close: str  # "HH:MM", "24:00" for midnight

    def text(self) -> str:
        if self.days == DAYS:
            day_text = "daily"
        elif (
            len(self.days) > 2
            and DAYS.index(self.days[-1]) - DAYS.index(self.days[0]) == len(self.days) - 1
        ):
            day_text = f"{self.days[0].title()}-{self.days[-1].title()}"
        else:
            day_text = ", ".join(d.title() for d in self.days)
        hours = "24 hours" if (self.open, self.close) == ("00:00", "24:00") else self.range
        return f"{day_text} {hours}"

    @property
    def range(self) -> str:
        return f"{self.open}-{self.close}"


ALWAYS_OPEN = (OpeningHours(DAYS, "00:00", "24:00"),)


def open_periods(
    hours: tuple[OpeningHours, ...], zone: tzinfo, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """When the locker is open between `start` and `end` (aware), merged, in order."""
    periods: list[tuple[datetime, datetime]] = []
    day = start.astimezone(zone).date() - timedelta(days=1)
    while datetime.combine(day, time(0), zone) < end:
        for h in hours:
            if DAYS[day.weekday()] not in h.days:
                continue
            opens = datetime.combine(day, _clock(h.open), zone)
            closes = datetime.combine(day, time(0), zone) + _duration(h.close)
            lo, hi = max(opens, start), min(closes, end)
            if lo < hi:
                periods.append((lo, hi))
        day += timedelta(days=1)
    merged: list[tuple[datetime, datetime]] = []
    for lo, hi in sorted(periods):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


def _clock(hhmm: str) -> time:
    return time(int(hhmm[:2]), int(hhmm[3:]))


def _duration(hhmm: str) -> timedelta:
    return timedelta(hours=int(hhmm[:2]), minutes=int(hhmm[3:]))


@dataclass(frozen=True)
class LockerAddress:
    line1: str
    city: str
    postcode: str

    def text(self) -> str:
        return f"{self.line1}, {self.city} {self.postcode}"


@dataclass(frozen=True)
class Compartment:
    compartment_id: str
    size: str
    state: CompartmentState = CompartmentState.FREE
    order_id: str | None = None
    reserved_until: int | None = None  # epoch seconds

    def available(self, now: int) -> bool:
        """Free, or held by a reservation whose route never came."""
        return self.state is CompartmentState.FREE or (
            self.state is CompartmentState.RESERVED and (self.reserved_until or 0) < now
        )

    def state_at(self, now: int) -> str:
        """Its state as it counts now (a lapsed reservation is free)."""
        return str(CompartmentState.FREE) if self.available(now) else str(self.state)


def free_by_size(compartments: list[Compartment], now: int) -> dict[str, int]:
    """How many doors of each size are available now."""
    return dict(Counter(c.size for c in compartments if c.available(now)))


@dataclass(frozen=True)
class Locker:
    locker_id: str
    name: str
    lat: float
    lng: float
    depot_id: str
    created_at: str
    address: LockerAddress | None = None
    opening_hours: tuple[OpeningHours, ...] = ALWAYS_OPEN
    holding_hours: int = DEFAULT_HOLDING_HOURS

    def hours_text(self) -> str:
        return "; ".join(h.text() for h in self.opening_hours)

    def public(self) -> dict[str, Any]:
        """What a customer or storefront may see of the locker (a public place)."""
        view: dict[str, Any] = {
            "locker_id": self.locker_id,
            "name": self.name,
            "lat": self.lat,
            "lng": self.lng,
            "opening_hours": self.hours_text(),
        }
        if self.address:
            view["address"] = self.address.text()
        return view


@dataclass(frozen=True)
class LockerFigures:
    """Running counts on the locker, for occupancy, dwell time and expiry rate."""

    deposits: int = 0
    pickups: int = 0
    expiries: int = 0
    dwell_s_total: int = 0

    def view(self) -> dict[str, Any]:
        finished = self.pickups + self.expiries
        return {
            "deposits": self.deposits,
            "pickups": self.pickups,
            "expiries": self.expiries,
            "mean_dwell_hours": round(self.dwell_s_total / self.pickups / 3600, 2)
            if self.pickups
            else None,
            "expiry_rate": round(self.expiries / finished, 3) if finished else None,
        }


@dataclass(frozen=True)
class LockerParcel:
    """An order's parcel(s) in a locker, with its pickup code's salt and hash."""

    locker_id: str
    order_id: str
    depot_id: str
    compartment_ids: tuple[str, ...]
    state: ParcelState
    deposited_at: str
    pickup_by: str  # ISO 8601 UTC
    code_salt: str
    code_hash: str
    reminded: bool = False
    extended: bool = False
    resends: int = 0
    claimed_by: str | None = None
    route_id: str | None = field(default=None)
    code_key: str = ""  # the key of its live-code entry (code_key()), "" once the code is gone

    def to_dict(self) -> dict[str, Any]:
        """The parcel as JSON (a dispatch run's snapshot of the retrievals it claimed)."""
        return {**asdict(self), "compartment_ids": list(self.compartment_ids)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LockerParcel:
        """The parcel from `to_dict`'s JSON; other keys are ignored (snapshots written before
        the store moved to models carried the item's keys too)."""
        fields = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        fields["compartment_ids"] = tuple(data["compartment_ids"])
        fields["state"] = ParcelState(data["state"])
        return cls(**fields)


def new_locker_id() -> str:
    return "lkr_" + secrets.token_hex(6)


def new_kiosk_key() -> str:
    return "kiosk_" + secrets.token_urlsafe(32)


def new_pickup_code() -> str:
    """8 digits from the OS's CSPRNG: 1 in 100 million per guess."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def new_salt() -> str:
    return secrets.token_hex(16)


def code_hash(pepper: bytes, salt: str, locker_id: str, code: str) -> str:
    """The stored form of a pickup code: HMAC-SHA256 under a key kept in Secrets Manager (a
    leaked table alone cannot be searched through 10^8 codes), salted per code, and bound to
    its locker (the same digits mean nothing at another)."""
    message = f"{salt}:{locker_id}:{code}".encode()
    return hmac.new(pepper, message, hashlib.sha256).hexdigest()


def code_key(pepper: bytes, locker_id: str, code: str) -> str:
    """The key of a code among its locker's live codes: unsalted (so the same digits at the same
    locker give the same key and a second parcel cannot be issued them), keyed like the hash."""
    return hmac.new(pepper, f"{locker_id}:{code}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class LiveCode:
    """A locker's live pickup code: which parcel it opens, its salted hash, and when the sweep
    next has something to do about it (the reminder, then the deadline)."""

    locker_id: str
    key: str  # code_key()
    order_id: str
    code_salt: str
    code_hash: str
    due: int  # epoch seconds


def next_due(pickup_by: int, reminded: bool) -> int:
    """When the sweep next looks at a parcel: its reminder, then its deadline (epoch s)."""
    return pickup_by if reminded else pickup_by - int(REMINDER_BEFORE.total_seconds())


def live_code(parcel: LockerParcel, pickup_by: int) -> LiveCode:
    """The live-code entry of a parcel just given its code (`pickup_by` its deadline, epoch s)."""
    return LiveCode(
        locker_id=parcel.locker_id,
        key=parcel.code_key,
        order_id=parcel.order_id,
        code_salt=parcel.code_salt,
        code_hash=parcel.code_hash,
        due=next_due(pickup_by, parcel.reminded),
    )


def is_code_shaped(code: str) -> bool:
    return len(code) == CODE_DIGITS and code.isascii() and code.isdigit()


def fits(parcel_size: str, compartment_size: str) -> bool:
    order = list(SIZES)
    return parcel_size in SIZES and order.index(compartment_size) >= order.index(parcel_size)


def allocate(sizes: list[str], free: list[Compartment]) -> list[Compartment] | None:
    """A compartment for each parcel size, the smallest that fits, largest parcels first; None
    when they do not all fit."""
    order = list(SIZES)
    left = sorted(free, key=lambda c: (order.index(c.size), c.compartment_id))
    chosen: list[Compartment] = []
    for size in sorted(sizes, key=lambda s: -order.index(s) if s in SIZES else -99):
        match = next((c for c in left if fits(size, c.size)), None)
        if match is None:
            return None
        left.remove(match)
        chosen.append(match)
    return chosen


def parcel_sizes(sizes: list[str | None]) -> list[str]:
    return [(s or UNKNOWN_PARCEL_SIZE).upper() for s in sizes]
