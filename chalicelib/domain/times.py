"""Times as the store and the API carry them: ISO 8601 in UTC with a `Z`, parsed back with any
offset. One place for both, so every room writes the same shape."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

Precision = Literal["seconds", "milliseconds"]


def iso_z(moment: datetime, timespec: Precision = "seconds") -> str:
    """`moment` in UTC as ISO 8601 with a `Z` (an aware datetime; naive ones are refused)."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no place in the store: give it a zone")
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def utc_now(timespec: Precision = "milliseconds") -> str:
    """Now, as the store records it (milliseconds, so events of one second sort)."""
    return iso_z(datetime.now(UTC), timespec)


def parse_iso(text: str) -> datetime:
    """An ISO 8601 time with `Z` or an offset, as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def epoch_s(text: str) -> int:
    """An ISO 8601 time as whole epoch seconds (what DynamoDB TTLs and leases compare)."""
    return int(parse_iso(text).timestamp())


def from_epoch(seconds: float, timespec: Precision = "seconds") -> str:
    return iso_z(datetime.fromtimestamp(seconds, UTC), timespec)


# The instants a stored time may hold: beyond these, date arithmetic downstream (an ETA, a TTL,
# a local day) overflows or is meaningless, and no storefront's order dates from them.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def storable(moment: datetime) -> datetime:
    """`moment` if it is aware and between EARLIEST and LATEST; ValueError otherwise (a
    validator's error, so the field at fault is named)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("needs a time zone offset (e.g. Z or +01:00)")
    if not EARLIEST <= moment < LATEST:
        raise ValueError(f"must be between {EARLIEST.year} and {LATEST.year - 1}")
    return moment
