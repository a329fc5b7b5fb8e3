"""The store's transactions against real DynamoDB semantics (moto over HTTP)."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from chalicelib import bootstrap
from chalicelib.domain.errors import AlreadyExists, ConcurrentUpdate, DuplicateEvent
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.order import receive
from chalicelib.domain.tenancy import Merchant
from chalicelib.intake.canonical import parse_order
from chalicelib.orders.service import Action, Inbound, Outcome
from chalicelib.store.models.base import MainItem
from chalicelib.store.models.orders import OutboxMessageItem
from tests.builders import an_order

pytestmark = pytest.mark.usefixtures("aws")


def merchant(merchant_id: str = "mer_store") -> Merchant:
    return Merchant(merchant_id=merchant_id, name="M", depot_id="dep_1", created_at="now")


def new_order(external_id: str, merchant_id: str = "mer_store"):
    return receive(
        parse_order(an_order(external_id=external_id)),
        merchant_id=merchant_id,
        depot_id="dep_1",
        source="api",
    )


def scan_main() -> list[dict]:
    return [item.attribute_values for item in MainItem.scan(consistent_read=True)]


def test_create_writes_order_timeline_lookups_receipt_and_outbox_together() -> None:
    repo = bootstrap.order_repository()
    order, events = new_order("tx-1")
    repo.create(order, events, messages=["order.confirmed"], receipt="evt-tx-1")
    stored, timeline = repo.get_with_timeline(order.order_id)
    assert stored == order
    assert [e.status for e in timeline] == [OrderStatus.RECEIVED, OrderStatus.READY]
    assert repo.find_by_external("mer_store", "api", "tx-1") == order
    assert repo.order_id_for_tracking_code(order.tracking_code) == order.order_id
    assert repo.receipt("mer_store", "api", "evt-tx-1") == order.order_id
    outbox = OutboxMessageItem.query(f"ORDER#{order.order_id}", consistent_read=True)
    assert [message.type for message in outbox] == ["order.confirmed"]


def test_a_repeated_receipt_writes_nothing_at_all() -> None:
    repo = bootstrap.order_repository()
    first, events = new_order("tx-2")
    repo.create(first, events, messages=[], receipt="evt-tx-2")
    second, events2 = new_order("tx-2-other")
    with pytest.raises(DuplicateEvent):
        repo.create(second, events2, messages=["order.confirmed"], receipt="evt-tx-2")
    assert repo.get(second.order_id) is None
    assert repo.find_by_external("mer_store", "api", "tx-2-other") is None
    assert all(item.get("order_id") != second.order_id for item in scan_main())


def test_one_external_order_maps_to_one_order() -> None:
    repo = bootstrap.order_repository()
    first, events = new_order("tx-3")
    repo.create(first, events, messages=[])
    second, events2 = new_order("tx-3")
    with pytest.raises(AlreadyExists):
        repo.create(second, events2, messages=[])
    assert repo.get(second.order_id) is None


def test_a_stale_version_cannot_overwrite() -> None:
    repo = bootstrap.order_repository()
    order, events = new_order("tx-4")
    repo.create(order, events, messages=[])
    moved = order.moved_to(OrderStatus.PLANNED, at="2026-11-21T10:00:00Z")
    repo.save(moved, [], expected_version=order.version)
    with pytest.raises(ConcurrentUpdate):
        repo.save(replace(order, version=order.version + 1), [], expected_version=order.version)
    assert repo.get(order.order_id).status is OrderStatus.PLANNED


def test_twenty_threads_delivering_one_event_make_one_order() -> None:
    service = bootstrap.orders()
    m = merchant("mer_race")
    draft = parse_order(an_order(external_id="race-1"))
    inbound = Inbound(
        source="shopify",
        action=Action.UPSERT,
        external_id="race-1",
        draft=draft,
        event_id="evt-race",
        source_updated_at="2026-11-20T09:00:00Z",
    )
    outcomes: list[Outcome] = []
    lock = threading.Lock()

    def deliver() -> None:
        result = service.ingest(m, inbound)
        with lock:
            outcomes.append(result.outcome)

    threads = [threading.Thread(target=deliver) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count(Outcome.CREATED) == 1
    assert set(outcomes) <= {Outcome.CREATED, Outcome.DUPLICATE}
    assert len(service.find(m, "race-1")) == 1


def test_parcel_labels_are_looked_up_in_one_read_and_a_taken_label_writes_nothing() -> None:
    repo = bootstrap.order_repository()
    order, events = new_order("labels-1")
    repo.create(order, events, messages=["order.confirmed"])
    [label] = [p.label for p in order.parcels]
    assert label is not None and repo.get(order.order_id) == order, "the label is stored"
    assert repo.order_id_for_label(label) == order.order_id

    # Another order drawing the same label (80 random bits: never, but the store says so).
    clash, clash_events = new_order("labels-2")
    clash = replace(clash, parcels=tuple(replace(p, label=label) for p in clash.parcels))
    with pytest.raises(ConcurrentUpdate, match="label"):
        repo.create(clash, clash_events, messages=["order.confirmed"])
    assert repo.get(clash.order_id) is None
    assert repo.find_by_external("mer_store", "api", "labels-2") is None
    assert repo.order_id_for_label(label) == order.order_id


def test_a_storefront_update_keeps_printed_labels_and_looks_up_new_ones() -> None:
    service = bootstrap.orders()
    body = an_order(external_id="labels-3")
    first = service.ingest(
        merchant(), Inbound("api", Action.UPSERT, "labels-3", parse_order(body))
    ).order
    body["parcels"] = [*body["parcels"], {"weight_kg": 1.0}]
    updated = service.ingest(
        merchant(), Inbound("api", Action.UPSERT, "labels-3", parse_order(body))
    )
    assert updated.outcome is Outcome.UPDATED and updated.order is not None and first is not None
    kept, added = (p.label for p in updated.order.parcels)
    assert kept == first.parcels[0].label and added not in (None, kept)
    repo = bootstrap.order_repository()
    assert repo.order_id_for_label(added) == repo.order_id_for_label(kept) == first.order_id
