"""The country of an IANA time zone (the tz database's zone.tab, shipped by `tzdata`): a
depot knows its zone, and its zone says whose public holidays it keeps."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def _countries() -> dict[str, str]:
    text = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text()
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            country, _, zone = line.split("\t")[:3]
            found[zone] = country
    return found


def country_of_zone(zone: str) -> str | None:
    """ISO 3166 alpha-2 of `zone` ("Europe/London" -> "GB"); None for UTC and the like."""
    return _countries().get(zone)
