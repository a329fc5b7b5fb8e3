"""What allocation adds to an order: a held order is not released by a new address alone, a
split shipment's parcel carries its share, and a run's snapshot keeps what an order holds."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from chalicelib.allocation.rules import Shipment
from chalicelib.allocation.service import shipment_parcels
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.order import (
    Line,
    Parcel,
    needs_triage,
    order_as_json,
    order_from_json,
    receive,
)
from chalicelib.intake.canonical import parse_order
from tests.builders import an_order


def a_draft(**overrides: object):  # type: ignore[no-untyped-def]
    return parse_order(an_order(**overrides))


def test_an_order_no_depot_could_serve_is_held_until_a_person_acts() -> None:
    order, events = receive(
        a_draft(),
        merchant_id="m",
        depot_id="d",
        source="api",
        attention_reason="out_of_area",
        held=True,
    )
    assert order.status is OrderStatus.NEEDS_ATTENTION
    assert order.attention_reason == "out_of_area"
    assert [e.note for e in events][-1] == "out_of_area"
    # It has coordinates, but nothing is reserved for it: an amended address does not release it.
    assert order.address.has_coordinates and not needs_triage(order)
    unlocated = replace(order, attention_reason="address has no usable coordinates")
    assert needs_triage(unlocated)


def test_a_split_shipment_carries_its_share_of_the_weight() -> None:
    draft = a_draft(
        parcels=[{"weight_kg": 4.0}, {"weight_kg": 2.0}],
        lines=[{"sku": "A", "quantity": 2}, {"sku": "B", "quantity": 1}],
    )
    first = Shipment("d1", (Line("A", 2),), date(2030, 6, 3), 1, None, (Line("A", 2),))
    assert shipment_parcels(draft, first, 2) == (Parcel(weight_kg=4.0),)
    assert shipment_parcels(draft, first, 1) == draft.parcels


def test_a_snapshot_keeps_what_the_order_holds_and_its_shipments() -> None:
    order, _ = receive(a_draft(), merchant_id="m", depot_id="d", source="api")
    held = replace(
        order,
        lines=(Line("A", 2), Line("B", 1)),
        reserved=(Line("A", 2),),
        promised_day="2030-06-03",
        capacity_load=1,
        shipments=(order.order_id, "ord_other"),
    )
    assert order_from_json(order_as_json(held)) == held
    assert order_from_json(order_as_json(order)) == order
