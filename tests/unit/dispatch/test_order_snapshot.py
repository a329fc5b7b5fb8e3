"""A dispatch run's S3 snapshot of its claimed orders: plain JSON that reads back the same."""

from __future__ import annotations

import json
from dataclasses import replace

from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.order import (
    Address,
    Customer,
    Delivery,
    DeliveryType,
    OrderDraft,
    Parcel,
    Window,
    order_as_json,
    order_from_json,
    receive,
)


def an_order():
    draft = OrderDraft(
        external_id="ext-1",
        customer=Customer("Ada Lovelace", email="ada@example.com"),
        address=Address("1 Street", "London", "E1", "GB", line2="Flat 2", lat=51.5, lng=-0.1),
        parcels=(Parcel(2.0, "S"), Parcel(1.5)),
        delivery=Delivery(
            DeliveryType.LOCKER,
            locker_id="lkr_1",
            window=Window("2026-11-23T09:00:00+00:00", "2026-11-23T12:00:00+00:00"),
        ),
    )
    order, _ = receive(draft, merchant_id="mer_1", depot_id="dep_1", source="api")
    return replace(order, unassigned_reason="over_capacity", failed_attempts=1, version=3)


def test_an_order_survives_its_json_form_unchanged() -> None:
    order = an_order()

    document = json.loads(json.dumps(order_as_json(order)))

    assert order_from_json(document) == order
    assert document["status"] == str(order.status) and document["delivery"]["type"] == "locker"


def test_a_home_order_without_window_or_coordinates_reads_back_the_same() -> None:
    order = replace(
        an_order(),
        status=OrderStatus.READY,
        address=Address("1 Street", "London", "E1", "GB"),
        delivery=Delivery(),
    )

    assert order_from_json(json.loads(json.dumps(order_as_json(order)))) == order


def test_a_snapshot_written_with_store_keys_beside_the_fields_still_reads() -> None:
    order = an_order()
    older = {"pk": f"ORDER#{order.order_id}", "sk": "ORDER", "gsi2pk": "DEPOT#dep_1#ready"}

    assert order_from_json(older | order_as_json(order)) == order
