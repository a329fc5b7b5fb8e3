"""The one time format and the one distance every room uses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from chalicelib.domain.geo import great_circle_m
from chalicelib.domain.times import epoch_s, from_epoch, iso_z, parse_iso, utc_now


def test_times_are_written_in_utc_with_a_z_and_read_back_with_any_offset() -> None:
    paris = timezone(timedelta(hours=1))
    moment = datetime(2026, 12, 1, 9, 30, 15, 123456, tzinfo=paris)
    assert iso_z(moment) == "2026-12-01T08:30:15Z"
    assert iso_z(moment, "milliseconds") == "2026-12-01T08:30:15.123Z"
    assert parse_iso("2026-12-01T08:30:15Z") == datetime(2026, 12, 1, 8, 30, 15, tzinfo=UTC)
    assert parse_iso("2026-12-01T09:30:15+01:00") == parse_iso("2026-12-01T08:30:15Z")
    assert epoch_s("1970-01-01T00:01:40Z") == 100
    assert from_epoch(100) == "1970-01-01T00:01:40Z"
    assert utc_now().endswith("Z") and len(utc_now()) == len("2026-12-01T08:30:15.123Z")


def test_a_naive_time_is_refused_rather_than_guessed() -> None:
    with pytest.raises(ValueError, match="naive"):
        iso_z(datetime(2026, 12, 1, 9, 30))


def test_great_circle_distance_matches_known_distances() -> None:
    # London (King's Cross) to Paris (Gare du Nord): about 344 km as the crow flies.
    assert great_circle_m(51.5308, -0.1238, 48.8809, 2.3553) == pytest.approx(344_000, rel=0.01)
    # A quarter of the equator: a quarter of 2 * pi * R.
    assert great_circle_m(0, 0, 0, 90) == pytest.approx(10_007_557, rel=1e-6)
    assert great_circle_m(51.5, -0.1, 51.5, -0.1) == 0
