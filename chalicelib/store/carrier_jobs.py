"""An overflow order's handoff to a partner carrier, in conditional writes: claimed for the
handoff (so no dispatch run takes it meanwhile), handed on once with its job (and a lookup from
the carrier's job id back to it), or given back to the next run with the reason."""

from __future__ import annotations

from pynamodb.exceptions import UpdateError

from chalicelib.domain.errors import ConcurrentUpdate
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.order import CarrierHandling, Order, TimelineEvent
from chalicelib.store.mapping import fields_of
from chalicelib.store.models.orders import CarrierAttribute, OrderItem, OrderLookupItem
from chalicelib.store.orders import (
    depot_status_key,
    order_key,
    outbox_message,
    timeline_model,
)
from chalicelib.store.reads import get_one
from chalicelib.store.transaction import Transaction, condition_failed

READY, PLANNED = str(OrderStatus.READY), str(OrderStatus.PLANNED)
# The claim a handoff holds on the order, in the field dispatch runs claim with.
HANDOFF_CLAIM = "carrier-handoff"


class _Changed(ConcurrentUpdate):
    """The order is no longer ready and unclaimed for the handoff."""


def _job_key(carrier: str, job_id: str) -> tuple[str, str]:
    key = f"CARRIERJOB#{carrier}#{job_id}"
    return key, key


def _order(order_id: str) -> OrderItem:
    return OrderItem(*order_key(order_id))


class CarrierJobs:
    def claim(self, order_id: str, now: int, until: int) -> str | None:
        """Hold a ready order no carrier has for the handoff, until `until` (epoch seconds),
        unless a dispatch run holds it. A handoff's own earlier claim is taken over, with the
        carrier it chose (`carrier-handoff#<carrier>`: a retry asks that one only, so a crash
        between its create and our write never hands the order to a second carrier). The claim
        held, or None: the order moved on, or a run holds it."""
        ready = (OrderItem.status == READY) & OrderItem.carrier.does_not_exist()
        item = _order(order_id)
        try:
            item.update(
                actions=[OrderItem.claimed_until.set(until)],
                condition=ready & OrderItem.claimed_by.startswith(HANDOFF_CLAIM),
            )
            return str(item.claimed_by)
        except UpdateError as exc:
            if not condition_failed(exc):
                raise
        try:
            item.update(
                actions=[
                    OrderItem.claimed_by.set(HANDOFF_CLAIM),
                    OrderItem.claimed_until.set(until),
                ],
                condition=ready
                & (OrderItem.claimed_by.does_not_exist() | (OrderItem.claimed_until < now)),
            )
        except UpdateError as exc:
            if not condition_failed(exc):
                raise
            return None
        return HANDOFF_CLAIM

    def choose(self, order_id: str, carrier: str) -> bool:
        """Record on the claim the carrier about to be asked to create the delivery."""
        try:
            _order(order_id).update(
                actions=[OrderItem.claimed_by.set(f"{HANDOFF_CLAIM}#{carrier}")],
                condition=OrderItem.claimed_by == HANDOFF_CLAIM,
            )
        except UpdateError as exc:
            if not condition_failed(exc):
                raise
            return False
        return True

    def hand_on(self, order: Order, handling: CarrierHandling, eta: str, at: str) -> bool:
        """The claimed order planned with the carrier's job: its ETA the carrier's dropoff, a
        timeline event, the customer's `order.planned`, and the job's lookup, in one transaction
        conditional on the handoff's claim. False when the order changed meanwhile."""
        tx = Transaction()
        tx.update(
            _order(order.order_id),
            [
                OrderItem.status.set(PLANNED),
                OrderItem.gsi2pk.set(depot_status_key(order.depot_id, PLANNED)),
                OrderItem.carrier.set(CarrierAttribute(**fields_of(handling))),
                OrderItem.eta.set(eta),
                OrderItem.updated_at.set(at),
                OrderItem.version.add(1),
                OrderItem.claimed_by.remove(),
                OrderItem.claimed_until.remove(),
                OrderItem.unassigned_reason.remove(),
            ],
            condition=OrderItem.claimed_by.startswith(HANDOFF_CLAIM)
            & (OrderItem.status == READY)
            & OrderItem.carrier.does_not_exist(),
            on_fail=_Changed(order.order_id),
        )
        note = f"{handling.name} {handling.job_id}"
        event = TimelineEvent(at, OrderStatus.PLANNED, "order.carrier_assigned", note)
        tx.put(timeline_model(order.order_id, 0, event))
        tx.put(OrderLookupItem(*_job_key(handling.name, handling.job_id), order_id=order.order_id))
        tx.put(
            outbox_message(order.order_id, order.merchant_id, PLANNED, "order.planned", at, eta=eta)
        )
        try:
            tx.commit()
        except _Changed:
            return False
        return True

    def give_back(self, order_id: str, reason: str) -> bool:
        """The claimed order back to the next run, with why no carrier took it."""
        try:
            _order(order_id).update(
                actions=[
                    OrderItem.unassigned_reason.set(reason),
                    OrderItem.claimed_by.remove(),
                    OrderItem.claimed_until.remove(),
                ],
                condition=OrderItem.claimed_by.startswith(HANDOFF_CLAIM),
            )
        except UpdateError as exc:
            if not condition_failed(exc):
                raise
            return False
        return True

    def order_for_job(self, carrier: str, job_id: str) -> str | None:
        found = get_one(OrderLookupItem, *_job_key(carrier, job_id))
        return found.order_id if found else None
