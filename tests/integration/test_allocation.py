"""Allocation against moto over HTTP: concurrent orders never oversell a SKU, a cancel gives
its units and its place back exactly once, and a split order's shipments are written together."""

from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest

from chalicelib import bootstrap
from chalicelib.accounts.service import NewDepot, NewMerchant
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.tenancy import Merchant
from chalicelib.intake.canonical import parse_order
from chalicelib.orders.service import Action, Inbound, Outcome
from tests.builders import an_order

pytestmark = pytest.mark.usefixtures("aws")

NEAR = (51.52, -0.12)


def a_depot(name: str, lat: float, lng: float, **fulfilment: object) -> str:
    depot = bootstrap.accounts().create_depot(
        NewDepot(name=name, lat=lat, lng=lng, timezone="Europe/London", fulfilment=fulfilment)
    )
    return depot.depot_id


def a_merchant(*depot_ids: str) -> Merchant:
    merchant, _ = bootstrap.accounts().create_merchant(
        NewMerchant(name="Shop", depot_id=depot_ids[0], depot_ids=list(depot_ids))
    )
    return merchant


def an_inbound(lines: list[dict], **overrides: object) -> Inbound:
    external_id = "race-" + secrets.token_hex(6)
    address = an_order()["address"] | {"lat": NEAR[0], "lng": NEAR[1]}
    body = an_order(external_id=external_id, address=address, lines=lines, **overrides)
    return Inbound("api", Action.UPSERT, external_id, parse_order(body))


def level(depot_id: str, sku: str) -> dict:
    [found] = [item for item in bootstrap.stock().levels(depot_id) if item["sku"] == sku]
    found.pop("merchant_id")
    return found


def test_fifty_orders_racing_for_ten_units_reserve_exactly_ten() -> None:
    near = a_depot("Race near", 51.51, -0.12)
    far = a_depot("Race far", 51.55, -0.12)
    merchant = a_merchant(near, far)
    bootstrap.stock().put(near, merchant.merchant_id, [("RACE-SKU", 10)])
    bootstrap.stock().put(far, merchant.merchant_id, [("RACE-SKU", 0)])
    service = bootstrap.orders()

    def one(_: int) -> tuple[str, str | None]:
        result = service.ingest(merchant, an_inbound([{"sku": "RACE-SKU", "quantity": 1}]))
        assert result.outcome is Outcome.CREATED and result.order is not None
        return str(result.order.status), result.order.attention_reason

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(one, range(50)))

    assert outcomes.count(("ready", None)) == 10
    assert outcomes.count(("needs_attention", "out_of_stock")) == 40
    assert level(near, "RACE-SKU") == {"sku": "RACE-SKU", "quantity": 0, "reserved": 10}
    assert level(far, "RACE-SKU") == {"sku": "RACE-SKU", "quantity": 0, "reserved": 0}
    held = [o for o in service.find(merchant, None) if o.status is OrderStatus.READY]
    assert len(held) == 10
    assert all(o.reserved[0].quantity == 1 and o.depot_id == near for o in held)


def test_a_cancel_gives_units_and_capacity_back_once() -> None:
    depot = a_depot("Cancel", 51.51, -0.12, daily_capacity={"orders": 5})
    merchant = a_merchant(depot)
    bootstrap.stock().put(depot, merchant.merchant_id, [("CANCEL-SKU", 4)])
    service = bootstrap.orders()
    inbound = an_inbound([{"sku": "CANCEL-SKU", "quantity": 3}])
    created = service.ingest(merchant, inbound).order
    assert created is not None and created.status is OrderStatus.READY
    assert level(depot, "CANCEL-SKU") == {"sku": "CANCEL-SKU", "quantity": 1, "reserved": 3}
    used = bootstrap.stock_repository().used
    day = created.promised_day
    assert day is not None
    assert used([(depot, date.fromisoformat(day))]) == {(depot, date.fromisoformat(day)): 1}

    cancel = Inbound("api", Action.CANCEL, inbound.external_id, event_id="cancel-1")
    again = Inbound("api", Action.CANCEL, inbound.external_id, event_id="cancel-2")
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda i: service.ingest(merchant, i), [cancel, again, cancel]))

    assert sorted(str(r.outcome) for r in results).count("cancelled") == 1
    assert level(depot, "CANCEL-SKU") == {"sku": "CANCEL-SKU", "quantity": 4, "reserved": 0}
    assert used([(depot, date.fromisoformat(day))]) == {(depot, date.fromisoformat(day)): 0}
    # The shelf counted again: nothing is held, so all of it is free.
    bootstrap.stock().put(depot, merchant.merchant_id, [("CANCEL-SKU", 6)])
    assert level(depot, "CANCEL-SKU") == {"sku": "CANCEL-SKU", "quantity": 6, "reserved": 0}


def test_a_split_order_is_written_as_linked_shipments_holding_each_depots_part() -> None:
    a = a_depot("Split A", 51.51, -0.12)
    b = a_depot("Split B", 51.535, -0.12)  # farther from the address than A
    merchant = a_merchant(a, b)
    bootstrap.stock().put(a, merchant.merchant_id, [("SPLIT-1", 2), ("SPLIT-2", 0)])
    bootstrap.stock().put(b, merchant.merchant_id, [("SPLIT-2", 1)])
    service = bootstrap.orders()
    inbound = an_inbound(
        [{"sku": "SPLIT-1", "quantity": 2}, {"sku": "SPLIT-2", "quantity": 1}],
        parcels=[{"weight_kg": 3.0}],
    )
    lead = service.ingest(merchant, inbound).order
    assert lead is not None and len(lead.shipments) == 2
    first, second = service.shipments(lead)
    assert first.order_id == lead.order_id and second.shipment_of == lead.order_id
    assert (first.depot_id, second.depot_id) == (a, b)
    assert first.reserved == first.lines and [x.sku for x in first.lines] == ["SPLIT-1"]
    assert [x.sku for x in second.reserved] == ["SPLIT-2"]
    assert first.tracking_code != second.tracking_code
    assert [p.weight_kg for p in first.parcels + second.parcels] == [2.0, 1.0]
    assert level(b, "SPLIT-2") == {"sku": "SPLIT-2", "quantity": 0, "reserved": 1}
    # The storefront cancels its order: both shipments go, each giving back its part.
    result = service.ingest(merchant, Inbound("api", Action.CANCEL, inbound.external_id))
    assert result.outcome is Outcome.CANCELLED
    assert {o.status for o in service.shipments(lead)} == {OrderStatus.CANCELLED}
    assert level(a, "SPLIT-1") == {"sku": "SPLIT-1", "quantity": 2, "reserved": 0}
    assert level(b, "SPLIT-2") == {"sku": "SPLIT-2", "quantity": 1, "reserved": 0}


def _moved(order, *statuses: OrderStatus):  # type: ignore[no-untyped-def]
    """The order saved through each status in turn, as dispatch and the driver's events do."""
    repo = bootstrap.order_repository()
    for status in statuses:
        moved = order.moved_to(status, at="2030-06-03T10:00:00.000Z")
        repo.save(moved, [], expected_version=order.version)
        order = repo.get(order.order_id)
    return order


def test_a_returned_order_frees_its_units_and_a_delivered_one_stops_holding_them() -> None:
    depot = a_depot("Returns", 51.51, -0.12)
    merchant = a_merchant(depot)
    bootstrap.stock().put(depot, merchant.merchant_id, [("RET-SKU", 5)])
    service = bootstrap.orders()
    returned = service.ingest(merchant, an_inbound([{"sku": "RET-SKU", "quantity": 2}])).order
    delivered = service.ingest(merchant, an_inbound([{"sku": "RET-SKU", "quantity": 1}])).order
    assert level(depot, "RET-SKU") == {"sku": "RET-SKU", "quantity": 2, "reserved": 3}

    on_the_way = (OrderStatus.PLANNED, OrderStatus.OUT_FOR_DELIVERY)
    back = _moved(returned, *on_the_way, OrderStatus.RETURNED)
    # Back on the shelf, free again; the order holds nothing (a later save gives nothing twice).
    assert back.reserved == ()
    assert level(depot, "RET-SKU") == {"sku": "RET-SKU", "quantity": 4, "reserved": 1}
    gone = _moved(delivered, *on_the_way, OrderStatus.DELIVERED)
    # Left the shelf with the van: no longer held, and not free either.
    assert gone.reserved == ()
    assert level(depot, "RET-SKU") == {"sku": "RET-SKU", "quantity": 4, "reserved": 0}
