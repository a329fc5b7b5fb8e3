"""The carrier handoff's conditional writes against moto: a run's live claim keeps the handoff
out, the handoff's own claim is taken over with the carrier it chose, the handoff is written
once (order planned with its job, the job's lookup, the customer's message), and an order that
moved on is neither claimed nor handed."""

from __future__ import annotations

import time

import pytest

from chalicelib import bootstrap
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.order import CarrierHandling, receive
from chalicelib.intake.canonical import parse_order
from chalicelib.store.carrier_jobs import CarrierJobs
from chalicelib.store.models.orders import OrderItem, OutboxMessageItem
from chalicelib.store.orders import order_key
from tests.builders import an_order

pytestmark = pytest.mark.usefixtures("aws")

JOB = CarrierHandling("uber_direct", "del_abc", "pending", 850, "GBP", "dqt_1")


def a_ready_order(external_id: str):
    order, events = receive(
        parse_order(an_order(external_id=external_id)),
        merchant_id="mer_cj",
        depot_id="dep_cj",
        source="api",
    )
    bootstrap.order_repository().create(order, events, messages=[])
    return order


def test_the_handoff_claims_chooses_and_hands_on_once() -> None:
    jobs, now = CarrierJobs(), int(time.time())
    order = a_ready_order("cj-1")
    assert jobs.claim(order.order_id, now, now + 900) == "carrier-handoff"
    assert jobs.choose(order.order_id, "uber_direct")
    # A retry of the same work takes its own claim over, with the carrier chosen.
    assert jobs.claim(order.order_id, now, now + 900) == "carrier-handoff#uber_direct"
    assert jobs.hand_on(order, JOB, "2026-12-01T17:00:00Z", "2026-12-01T15:00:00Z")
    assert not jobs.hand_on(order, JOB, "2026-12-01T17:00:00Z", "2026-12-01T15:00:00Z")
    stored = bootstrap.order_repository().get(order.order_id)
    assert stored is not None and stored.status is OrderStatus.PLANNED and stored.carrier == JOB
    assert stored.eta == "2026-12-01T17:00:00Z"
    assert jobs.order_for_job("uber_direct", "del_abc") == order.order_id
    outbox = OutboxMessageItem.query(f"ORDER#{order.order_id}", consistent_read=True)
    assert [m.type for m in outbox] == ["order.planned"]
    assert jobs.claim(order.order_id, now, now + 900) is None  # planned: not again


def test_a_runs_live_claim_keeps_the_handoff_out_until_it_lapses() -> None:
    jobs, now = CarrierJobs(), int(time.time())
    order = a_ready_order("cj-2")
    OrderItem(*order_key(order.order_id)).update(
        actions=[OrderItem.claimed_by.set("run_1"), OrderItem.claimed_until.set(now + 60)]
    )
    assert jobs.claim(order.order_id, now, now + 900) is None
    assert not jobs.hand_on(order, JOB, "2026-12-01T17:00:00Z", "2026-12-01T15:00:00Z")
    assert jobs.claim(order.order_id, now + 61, now + 900) == "carrier-handoff"


def test_giving_back_leaves_the_reason_and_no_claim() -> None:
    jobs, now = CarrierJobs(), int(time.time())
    order = a_ready_order("cj-3")
    assert jobs.claim(order.order_id, now, now + 900)
    assert jobs.give_back(order.order_id, "carrier_declined")
    item = OrderItem.get(*order_key(order.order_id), consistent_read=True)
    assert item.unassigned_reason == "carrier_declined" and item.claimed_by is None
    assert item.status == "ready"
