"""Carrier statuses applied to our order with stateful fakes: a delivered that overtakes the
collection passes through out_for_delivery (two events, two messages, one write); stale,
duplicate and post-ending statuses write nothing; a cancel gives the order back; a status for an
order our side moved on (cancelled) or for another job is acknowledged and left."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pytest

from chalicelib.carriers.ports import CarrierUpdate, CourierPosition
from chalicelib.carriers.webhooks import CarrierWebhooks, UnknownCarrier
from chalicelib.domain.errors import ConcurrentUpdate
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.order import CarrierHandling, Order, TimelineEvent
from tests.unit.carriers.test_handoff import a_ready_order

JOB = "del_1"


class Saying:
    """An adapter whose next webhook says `status` (its signature check is tested apart)."""

    name = "uber_direct"

    def __init__(self) -> None:
        self.status, self.courier, self.job = "pending", None, JOB

    def update(self, raw_body: bytes, headers: Mapping[str, str]) -> CarrierUpdate:
        return CarrierUpdate(
            self.name, self.job, None, self.status, "2026-12-01T15:00:00Z", self.courier
        )


class Orders:
    def __init__(self, order: Order) -> None:
        self.order = order
        self.writes: list[tuple[list[TimelineEvent], list[Any]]] = []

    def get(self, order_id: str) -> Order | None:
        return self.order

    def save(
        self,
        order: Order,
        events: list[TimelineEvent],
        *,
        expected_version: int,
        messages: Any = None,
    ) -> None:
        if expected_version != self.order.version:
            raise ConcurrentUpdate("changed")
        self.order = order
        self.writes.append((events, list(messages or [])))


class Jobs:
    def order_for_job(self, carrier: str, job_id: str) -> str | None:
        return "ord" if job_id == JOB else None


def handed(status: str = "pending") -> Order:
    planned = a_ready_order().moved_to(OrderStatus.PLANNED, at="2026-12-01T14:00:00Z")
    return replace(
        planned, carrier=CarrierHandling("uber_direct", JOB, status, 850, "GBP", "dqt_1")
    )


def setup(order: Order) -> tuple[Saying, Orders, CarrierWebhooks]:
    adapter, orders = Saying(), Orders(order)
    return adapter, orders, CarrierWebhooks({"uber_direct": adapter}, orders, Jobs())


def test_a_delivered_that_overtakes_the_collection_passes_through_out_for_delivery() -> None:
    adapter, orders, hooks = setup(handed())
    adapter.status = "delivered"
    assert hooks.receive("uber_direct", b"{}", {}) is True
    assert orders.order.status is OrderStatus.DELIVERED and orders.order.first_attempt is True
    [(events, messages)] = orders.writes
    assert [e.status for e in events] == [OrderStatus.OUT_FOR_DELIVERY, OrderStatus.DELIVERED]
    assert messages == ["order.out_for_delivery", "order.delivered"]
    assert orders.order.version == handed().version + 1


@pytest.mark.parametrize(
    ("current", "sent"),
    [("pickup_complete", "pickup"), ("pickup", "pickup"), ("delivered", "canceled")],
)
def test_a_stale_duplicate_or_late_status_writes_nothing(current: str, sent: str) -> None:
    adapter, orders, hooks = setup(handed(current))
    adapter.status = sent
    assert hooks.receive("uber_direct", b"{}", {}) is False
    assert orders.writes == []


def test_a_courier_position_alone_is_kept_for_the_page() -> None:
    adapter, orders, hooks = setup(handed("pickup_complete"))
    adapter.status, adapter.courier = "pickup_complete", CourierPosition(51.5, -0.1)
    assert hooks.receive("uber_direct", b"{}", {}) is True
    assert orders.order.carrier is not None
    assert (orders.order.carrier.courier_lat, orders.order.carrier.courier_lng) == (51.5, -0.1)
    assert orders.writes == [([], [])]


def test_a_cancel_before_collection_gives_the_order_back_to_our_runs() -> None:
    adapter, orders, hooks = setup(handed("pickup"))
    adapter.status = "canceled"
    assert hooks.receive("uber_direct", b"{}", {}) is True
    back = orders.order
    assert back.status is OrderStatus.READY and back.carrier is None
    assert back.unassigned_reason == "carrier_cancelled"


def test_a_status_after_our_side_cancelled_the_order_is_left() -> None:
    cancelled = handed().moved_to(OrderStatus.CANCELLED, at="2026-12-01T14:30:00Z")
    adapter, orders, hooks = setup(cancelled)
    adapter.status = "pickup_complete"
    assert hooks.receive("uber_direct", b"{}", {}) is False and orders.writes == []


def test_another_job_or_an_unknown_carrier_changes_nothing() -> None:
    adapter, orders, hooks = setup(handed())
    adapter.job, adapter.status = "del_other", "delivered"
    assert hooks.receive("uber_direct", b"{}", {}) is False and orders.writes == []
    with pytest.raises(UnknownCarrier):
        hooks.receive("fedex", b"{}", {})
