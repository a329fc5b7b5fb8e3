"""The lockers' answers through their reply models (api/locker_replies.py): built from what the
real locker services give, each body is the dict the views answered before, field for field
(nulls sent, absent fields left out), and valid against the OpenAPI document's schema of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, get_args

import pytest
from jsonschema import Draft202012Validator, ValidationError
from pydantic import ValidationError as ModelRefused

from chalicelib.api.locker_replies import (
    Deposit,
    DoorState,
    LockerView,
    NearbyLockers,
    Pickup,
    PickupBy,
    Retrieval,
    Size,
)
from chalicelib.api.openapi import document
from chalicelib.domain.lockers import (
    DAYS,
    SIZES,
    Compartment,
    CompartmentState,
    Locker,
    LockerAddress,
    LockerFigures,
    LockerParcel,
    OpeningHours,
    ParcelState,
)
from chalicelib.domain.times import epoch_s
from chalicelib.lockers.admin import LockerAdmin
from chalicelib.lockers.directory import LockerDirectory
from chalicelib.lockers.kiosk import collected_view, deposited_view, retrieved_view
from chalicelib.store.lockers import KioskAttempts

C = CompartmentState
NOW = epoch_s("2025-05-01T10:00:00Z")

STATION = Locker(
    "lkr_station", "London Bridge Station", 51.5049, -0.0863, "dep_1", "2025-04-01T08:00:00Z",
    address=LockerAddress("Tooley St", "London", "SE1 2TF"),
    opening_hours=(OpeningHours(DAYS[:6], "07:00", "22:00"),),
    holding_hours=48,
)  # fmt: skip
MARKET = Locker("lkr_market", "Borough Market", 51.5055, -0.0910, "dep_1", "2025-04-01T08:00:00Z")
FULL = Locker("lkr_full", "Guy's Hospital", 51.5032, -0.0873, "dep_1", "2025-04-01T08:00:00Z")


@dataclass
class Shelf:
    """The locker store's reads that the admin view and the directory make, over what it holds."""

    lockers: dict[str, Locker] = field(default_factory=dict)
    doors: dict[str, list[Compartment]] = field(default_factory=dict)
    figures: dict[str, LockerFigures] = field(default_factory=dict)
    attempts: dict[str, KioskAttempts] = field(default_factory=dict)

    def put(
        self, locker: Locker, *doors: Compartment, figures: LockerFigures | None = None
    ) -> None:
        self.lockers[locker.locker_id] = locker
        self.doors[locker.locker_id] = list(doors)
        self.figures[locker.locker_id] = figures or LockerFigures()

    def get(self, locker_id: str) -> tuple[Locker, str, LockerFigures] | None:
        if locker_id not in self.lockers:
            return None
        return self.lockers[locker_id], "kiosk-key-hash", self.figures[locker_id]

    def for_depot(self, depot_id: str | None) -> list[Locker]:
        return [lk for lk in self.lockers.values() if depot_id in (None, lk.depot_id)]

    def compartments(self, locker_id: str) -> list[Compartment]:
        return list(self.doors.get(locker_id, []))

    def kiosk_attempts(self, locker_id: str) -> KioskAttempts:
        return self.attempts.get(locker_id, KioskAttempts(0, 0, 0, 0))


def valid(name: str, answer: dict[str, Any]) -> None:
    schema = {"$ref": f"#/components/schemas/{name}", "components": document()["components"]}
    Draft202012Validator(schema).validate(answer)


def a_parcel(*doors: str, **changes: Any) -> LockerParcel:
    return LockerParcel(
        "lkr_station", "ord_7", "dep_1", doors, changes.pop("state", ParcelState.DEPOSITED),
        "2025-05-01T09:00:00Z", "2025-05-03T09:00:00Z", "salt", "hash", **changes,
    )  # fmt: skip


def test_the_nearest_lockers_answer_as_before_the_address_only_where_a_locker_has_one() -> None:
    shelf = Shelf()
    shelf.put(STATION, Compartment("A1", "S"), Compartment("B1", "M"), Compartment("B2", "M"))
    shelf.put(MARKET, Compartment("L1", "L"), Compartment("M9", "M", C.OCCUPIED, "ord_1"))
    shelf.put(FULL, Compartment("S1", "M", C.OCCUPIED, "ord_2"))  # no room: not offered
    directory = LockerDirectory(shelf, clock=lambda: NOW)  # type: ignore[arg-type]

    found = directory.near(51.5045, -0.0865, "dep_1", ["M"])
    answer = NearbyLockers.of(found).body()

    station = {
        "locker_id": "lkr_station", "name": "London Bridge Station", "lat": 51.5049,
        "lng": -0.0863, "opening_hours": "Mon-Sat 07:00-22:00",
        "address": "Tooley St, London SE1 2TF", "distance_m": 47, "free": {"S": 1, "M": 2},
    }  # fmt: skip
    market = {
        "locker_id": "lkr_market", "name": "Borough Market", "lat": 51.5055, "lng": -0.091,
        "opening_hours": "daily 24 hours", "distance_m": 331, "free": {"L": 1},
    }  # fmt: skip
    assert answer == {"lockers": [station, market], "items": [station, market], "next_cursor": None}
    assert "address" not in answer["items"][1]  # absent, not null
    valid("NearbyLockers", answer)
    none_near = NearbyLockers.of([]).body()
    assert none_near == {"lockers": [], "items": [], "next_cursor": None}
    valid("NearbyLockers", none_near)


def test_a_lockers_view_for_operators_answers_as_before_its_nulls_sent() -> None:
    shelf = Shelf()
    shelf.put(
        STATION,
        Compartment("B2", "M", C.OCCUPIED, "ord_1"),
        Compartment("A1", "S"),
        Compartment("B1", "M", C.RESERVED, "ord_2", reserved_until=NOW + 600),
        Compartment("B3", "M", C.RESERVED, "ord_3", reserved_until=NOW - 1),  # lapsed: free
        Compartment("C1", "L", C.AWAITING_RETRIEVAL, "ord_4"),
    )
    admin = LockerAdmin(shelf, depots=None, clock=lambda: NOW)  # type: ignore[arg-type]

    answer = LockerView.of(admin.view("lkr_station")).body()

    assert answer == {
        "locker_id": "lkr_station", "name": "London Bridge Station", "lat": 51.5049,
        "lng": -0.0863, "opening_hours": "Mon-Sat 07:00-22:00",
        "address": "Tooley St, London SE1 2TF", "depot_id": "dep_1", "holding_hours": 48,
        "compartments": [
            {"compartment_id": "A1", "size": "S", "state": "free"},
            {"compartment_id": "B1", "size": "M", "state": "reserved", "order_id": "ord_2"},
            {"compartment_id": "B2", "size": "M", "state": "occupied", "order_id": "ord_1"},
            {"compartment_id": "B3", "size": "M", "state": "free"},
            {"compartment_id": "C1", "size": "L", "state": "awaiting_retrieval",
             "order_id": "ord_4"},
        ],
        "figures": {
            "by_size": {"M": {"occupied": 1, "reserved": 1, "free": 1}, "S": {"free": 1},
                        "L": {"awaiting_retrieval": 1}},
            "occupancy": 0.6, "deposits": 0, "pickups": 0, "expiries": 0,
            # Nothing collected or expired yet: the figures say so with nulls.
            "mean_dwell_hours": None, "expiry_rate": None,
        },
        "kiosk": {"attempts": 0, "window_ends": None, "locked_until": None, "lockouts": 0},
    }  # fmt: skip
    valid("LockerView", answer)


def test_a_busy_lockers_view_answers_its_figures_and_its_locked_kiosk_as_before() -> None:
    shelf = Shelf()
    figures = LockerFigures(deposits=9, pickups=6, expiries=2, dwell_s_total=6 * 5400)
    shelf.put(MARKET, Compartment("L1", "L", C.OCCUPIED, "ord_1"), figures=figures)
    shelf.attempts["lkr_market"] = KioskAttempts(5, NOW + 300, NOW + 900, 2)
    admin = LockerAdmin(shelf, depots=None, clock=lambda: NOW)  # type: ignore[arg-type]

    answer = LockerView.of(admin.view("lkr_market")).body()

    assert "address" not in answer
    assert answer["figures"] == {
        "by_size": {"L": {"occupied": 1}}, "occupancy": 1.0, "deposits": 9, "pickups": 6,
        "expiries": 2, "mean_dwell_hours": 1.5, "expiry_rate": 0.25,
    }  # fmt: skip
    assert answer["kiosk"] == {
        "attempts": 5, "window_ends": "2025-05-01T10:05:00Z",
        "locked_until": "2025-05-01T10:15:00Z", "lockouts": 2,
    }  # fmt: skip
    valid("LockerView", answer)


def test_the_kiosks_answers_are_the_parcels_doors_as_before() -> None:
    parcel = a_parcel("B1", "C1")

    deposit = Deposit.of(deposited_view(parcel)).body()
    pickup = Pickup.of(collected_view(parcel)).body()
    retrieval = Retrieval.of(retrieved_view(a_parcel("B1", state=ParcelState.RETRIEVED))).body()

    assert deposit == {
        "order_id": "ord_7", "compartment_id": "B1", "compartment_ids": ["B1", "C1"],
        "pickup_by": "2025-05-03T09:00:00Z",
    }  # fmt: skip
    assert pickup == {"order_id": "ord_7", "compartment_id": "B1", "compartment_ids": ["B1", "C1"]}
    assert retrieval == {"order_id": "ord_7", "compartment_ids": ["B1"]}
    valid("Deposit", deposit)
    valid("Pickup", pickup)
    valid("Retrieval", retrieval)
    # Never a pickup code's salt or hash: nothing but the doors reaches the kiosk.
    assert {"code_salt", "code_hash"}.isdisjoint(deposit | pickup | retrieval)


def test_a_new_code_or_more_time_answers_the_deadline_alone() -> None:
    answer = PickupBy(pickup_by=a_parcel("B1").pickup_by).body()

    assert answer == {"pickup_by": "2025-05-03T09:00:00Z"}
    valid("PickupBy", answer)


def test_the_documented_shapes_refuse_what_the_answers_never_are() -> None:
    parcel = deposited_view(a_parcel("B1"))
    shelf = Shelf()
    shelf.put(MARKET, Compartment("L1", "L"))
    view = LockerView.of(LockerAdmin(shelf, None, lambda: NOW).view("lkr_market")).body()  # type: ignore[arg-type]

    for name, wrong in [
        ("Deposit", {**parcel, "compartment_ids": []}),  # a deposit is behind a door at least
        ("Deposit", {**parcel, "code": "123456"}),  # nothing unnamed
        ("LockerView", {**view, "address": None}),  # absent, never null
        ("LockerView", {**view, "figures": {**view["figures"], "occupancy": 1.5}}),
        ("LockerView", {**view, "kiosk": {"attempts": 0, "lockouts": 0}}),  # nulls are sent
        ("NearbyLockers", {"lockers": [], "items": [], "next_cursor": "x"}),
    ]:
        with pytest.raises(ValidationError):
            valid(name, wrong)
    # A field a service adds without its reply naming it cannot reach an answer unnoticed.
    with pytest.raises(ModelRefused):
        Deposit.of({**parcel, "code_hash": "hash"})


def test_the_replies_sizes_and_door_states_are_the_domains() -> None:
    assert get_args(Size) == tuple(SIZES)
    assert set(get_args(DoorState)) == {str(s) for s in CompartmentState}
