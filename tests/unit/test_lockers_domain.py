"""The locker rules without AWS: which doors a parcel gets, when a reservation lapses, how a
pickup code is kept and bound to its locker."""

from __future__ import annotations

import json
from dataclasses import replace

from chalicelib.domain.lockers import (
    ALWAYS_OPEN,
    Compartment,
    CompartmentState,
    LockerParcel,
    OpeningHours,
    ParcelState,
    allocate,
    code_hash,
    code_key,
    is_code_shaped,
    live_code,
    new_pickup_code,
    open_periods,
)
from chalicelib.domain.times import epoch_s, from_epoch


def doors(*sizes: str) -> list[Compartment]:
    return [Compartment(f"{s}{n}", s) for n, s in enumerate(sizes)]


def test_each_parcel_gets_the_smallest_door_it_fits_largest_first() -> None:
    chosen = allocate(["S", "L", "M"], doors("L", "S", "M", "L"))
    assert chosen is not None
    assert sorted(c.compartment_id for c in chosen) == ["L0", "M2", "S1"]
    assert allocate(["M", "M"], doors("S", "M", "S")) is None, "two M parcels, one M door"
    assert [c.size for c in allocate(["S"], doors("L", "M")) or []] == ["M"]


def test_a_reservation_holds_until_its_time_then_lapses() -> None:
    held = Compartment("M1", "M", CompartmentState.RESERVED, "ord_x", 1_000)
    assert not held.available(999) and held.available(1_001)
    assert Compartment("M2", "M").available(0)
    assert not Compartment("M3", "M", CompartmentState.OCCUPIED, "ord_y").available(10**10)


def test_a_code_is_8_digits_and_its_hash_is_keyed_salted_and_bound_to_its_locker() -> None:
    codes = {new_pickup_code() for _ in range(200)}
    assert all(is_code_shaped(c) for c in codes) and len(codes) > 190
    assert not is_code_shaped("1234567") and not is_code_shaped("\uff11" * 8)
    stored = code_hash(b"pepper", "salt", "lkr_a", "01234567")
    assert "01234567" not in stored
    assert stored != code_hash(b"pepper", "salt", "lkr_b", "01234567"), "another locker"
    assert stored != code_hash(b"pepper", "salt2", "lkr_a", "01234567"), "another salt"
    assert stored != code_hash(b"other", "salt", "lkr_a", "01234567"), "another key"


def test_opening_hours_read_as_people_write_them() -> None:
    assert ALWAYS_OPEN[0].text() == "daily 24 hours"
    weekdays = OpeningHours(("mon", "tue", "wed", "thu", "fri", "sat"), "07:00", "22:00")
    assert weekdays.text() == "Mon-Sat 07:00-22:00"
    assert OpeningHours(("sat", "sun"), "09:00", "17:00").text() == "Sat, Sun 09:00-17:00"


def test_open_periods_follow_the_days_and_the_zone() -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    london = ZoneInfo("Europe/London")
    hours = (OpeningHours(("mon", "tue", "wed", "thu", "fri"), "07:00", "22:00"),)
    friday_noon = datetime(2026, 7, 3, 11, 0, tzinfo=UTC)  # 12:00 BST
    periods = open_periods(hours, london, friday_noon, friday_noon.replace(day=7, hour=5))
    assert [(lo.isoformat(), hi.isoformat()) for lo, hi in periods] == [
        ("2026-07-03T11:00:00+00:00", "2026-07-03T22:00:00+01:00"),  # open now until 22:00
        ("2026-07-06T07:00:00+01:00", "2026-07-06T22:00:00+01:00"),  # closed at the weekend
    ]
    always = open_periods(ALWAYS_OPEN, london, friday_noon, friday_noon.replace(day=5))
    assert always == [(friday_noon, friday_noon.replace(day=5))], "24 hours merge into one"


def test_a_parcel_travels_as_json_and_back() -> None:
    parcel = LockerParcel(
        "lkr_1", "ord_1", "dep_1", ("A1", "B2"), ParcelState.RETRIEVAL_PLANNED,
        "2025-05-01T09:00:00Z", "2025-05-04T09:00:00Z", "", "", reminded=True,
        resends=2, claimed_by="run_1", route_id="run_1-r01",
    )  # fmt: skip
    data = parcel.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["order_id"] == "ord_1" and data["compartment_ids"] == ["A1", "B2"]
    assert LockerParcel.from_dict(json.loads(json.dumps(data))) == parcel
    # A run's snapshot written before the store moved to models carried the item's keys too.
    older = {**data, "pk": "LOCKER#lkr_1", "sk": "PARCEL#ord_1", "entity": "locker_parcel"}
    assert LockerParcel.from_dict(older) == parcel


def test_deadlines_read_back_to_the_second() -> None:
    assert from_epoch(1_746_090_000) == "2025-05-01T09:00:00Z"
    assert epoch_s("2025-05-01T09:00:00Z") == 1_746_090_000


def test_a_code_key_is_the_same_for_the_same_digits_at_the_same_locker_only() -> None:
    pepper = b"p" * 32
    key = code_key(pepper, "lkr_a", "12345678")
    assert key == code_key(pepper, "lkr_a", "12345678"), "unsalted: a clash is found by key"
    assert key != code_key(pepper, "lkr_b", "12345678")
    assert key != code_key(pepper, "lkr_a", "12345679")
    assert key != code_key(b"q" * 32, "lkr_a", "12345678"), "keyed: the table alone tells nothing"
    assert "12345678" not in key


def test_a_live_code_is_due_at_its_reminder_then_at_its_deadline() -> None:
    parcel = LockerParcel(
        "lkr_a", "ord_1", "dep_1", ("M1",), ParcelState.DEPOSITED,
        "2025-05-01T09:00:00Z", "2025-05-04T09:00:00Z", "salt", "hash", code_key="k",
    )  # fmt: skip
    deadline = epoch_s(parcel.pickup_by)
    fresh = live_code(parcel, deadline)
    assert (fresh.key, fresh.order_id, fresh.code_hash) == ("k", "ord_1", "hash")
    assert fresh.due == deadline - 24 * 3600
    assert live_code(replace(parcel, reminded=True), deadline).due == deadline
