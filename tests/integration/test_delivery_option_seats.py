"""A quote's reads against the embedded DynamoDB: the depot with its fleet in one batch read,
and a day's taken seats (every slot's summary in one batch read, then each slot's held seats;
a hold past its time gives its seat back)."""

from __future__ import annotations

import secrets

import pytest

from chalicelib import bootstrap
from chalicelib.accounts.service import NewDepot
from chalicelib.domain.errors import DepotNotFound
from chalicelib.domain.tenancy import Vehicle
from chalicelib.store.delivery_options import (
    SUMMARY,
    DeliveryOptionStore,
    booked_sk,
    seat_sk,
    slot_pk,
)
from chalicelib.store.models.delivery_options import SeatItem, SlotSummaryItem

pytestmark = pytest.mark.usefixtures("aws")
NOW = 1_800_000_000


def test_a_days_taken_seats_are_its_booked_and_live_held_seats_per_slot() -> None:
    depot = "dep_" + secrets.token_hex(6)
    morning, noon, evening = (slot_pk(depot, f"2027-01-11T{h}:00:00Z") for h in ("08", "12", "18"))
    SlotSummaryItem(morning, SUMMARY, booked={0, 1, 2}).save()
    SlotSummaryItem(noon, SUMMARY, booked={5}).save()
    for pk, n, until in ((morning, 7, NOW + 600), (morning, 8, NOW - 1), (evening, 3, NOW + 1)):
        SeatItem(pk, seat_sk(n), state="held", option_id="opt_x", hold_until=until).save()
    # A booked seat's own item is not read: the summary stands for it.
    SeatItem(noon, booked_sk(seat_sk(9)), state="booked", option_id="opt_y", hold_until=0).save()

    store = DeliveryOptionStore()
    taken = store.taken_seats_of([morning, noon, evening], NOW)
    assert taken == {morning: {0, 1, 2, 7}, noon: {5}, evening: {3}}
    assert store.taken_seats(morning, NOW) == {0, 1, 2, 7}
    assert store.taken_seats_of([], NOW) == {}


def test_a_quotes_depot_and_fleet_come_in_one_read_and_an_unknown_depot_is_refused() -> None:
    accounts = bootstrap.accounts()
    depot = accounts.create_depot(
        NewDepot(name="York", lat=53.96, lng=-1.08, timezone="Europe/London")
    )
    assert accounts.depot_fleet(depot.depot_id) == (depot, [])
    van = Vehicle(
        vehicle_id="van-1",
        profile="van",
        capacity_parcels=120,
        capacity_weight_kg=900.0,
        shift_start="2027-01-11T08:00:00+00:00",
        shift_end="2027-01-11T18:00:00+00:00",
    )
    accounts.set_fleet(depot.depot_id, [van])
    found, fleet = accounts.depot_fleet(depot.depot_id)
    assert found == depot and fleet == accounts.fleet(depot.depot_id)
    assert [v.vehicle_id for v in fleet] == ["van-1"] and fleet[0].capacity_parcels == 120
    with pytest.raises(DepotNotFound):
        accounts.depot_fleet("dep_nope")
