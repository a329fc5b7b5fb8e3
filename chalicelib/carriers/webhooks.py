"""A partner carrier's status webhook applied to our order: verified on the raw body first
(the adapter), found by its job, and applied by carriers/progress.py, so a stale, duplicated or
unordered status changes nothing; each step our order makes writes its timeline event and the
customer's message as our own vans' do. The courier's last position is kept for the page."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from chalicelib.carriers.ports import Carrier, CarrierUpdate
from chalicelib.carriers.progress import DELIVERED, apply
from chalicelib.domain.errors import ConcurrentUpdate, IllegalTransition, NotFound
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.order import Order, TimelineEvent
from chalicelib.domain.times import utc_now

logger = Logger(child=True)

ATTEMPTS = 3  # a webhook racing another for the same order reads it again, this often


class UnknownCarrier(NotFound):
    """No partner carrier of that name."""


class Orders(Protocol):
    def get(self, order_id: str) -> Order | None: ...

    def save(
        self,
        order: Order,
        events: list[TimelineEvent],
        *,
        expected_version: int,
        messages: list[str | tuple[str, dict[str, Any]]] | None = None,
    ) -> None: ...


class JobLookup(Protocol):
    def order_for_job(self, carrier: str, job_id: str) -> str | None: ...


class CarrierWebhooks:
    def __init__(self, carriers: Mapping[str, Carrier], orders: Orders, jobs: JobLookup) -> None:
        self._carriers = carriers
        self._orders = orders
        self._jobs = jobs

    def receive(self, carrier: str, raw_body: bytes, headers: Mapping[str, str]) -> bool:
        """Apply one webhook; whether it changed the order. SignatureInvalid (nothing read or
        written), MalformedBody, UnknownCarrier. A job we do not know is acknowledged and left:
        the carrier would only send it again."""
        adapter = self._carriers.get(carrier)
        if adapter is None:
            raise UnknownCarrier(f"no partner carrier {carrier!r}")
        update = adapter.update(raw_body, headers)
        order_id = self._jobs.order_for_job(carrier, update.job_id)
        if order_id is None:
            logger.warning("carrier webhook for a job we do not know", carrier=carrier)
            return False
        for _ in range(ATTEMPTS):
            order = self._orders.get(order_id)
            if order is None or order.carrier is None or order.carrier.job_id != update.job_id:
                return False  # the order left this job (cancelled back to our pool)
            try:
                changed = _applied(order, update)
            except IllegalTransition:
                # Our side moved the order on (the merchant cancelled it): nothing to apply.
                logger.warning("carrier status after the order moved on", order_id=order_id)
                return False
            if changed is None:
                return False
            moved, events, messages = changed
            try:
                self._orders.save(moved, events, expected_version=order.version, messages=messages)
            except ConcurrentUpdate:
                continue  # another webhook for this order won: read it again
            return True
        raise ConcurrentUpdate(f"order {order_id} kept changing; the carrier will retry")


def _applied(
    order: Order, update: CarrierUpdate
) -> tuple[Order, list[TimelineEvent], list[str | tuple[str, dict[str, Any]]]] | None:
    """The order after `update`, the timeline events and the messages it makes (None: none)."""
    assert order.carrier is not None
    at = utc_now()
    carrier = order.carrier
    if update.courier is not None and (update.courier.lat, update.courier.lng) != (
        carrier.courier_lat,
        carrier.courier_lng,
    ):
        carrier = replace(
            carrier,
            courier_lat=update.courier.lat,
            courier_lng=update.courier.lng,
            courier_at=update.at,
        )
    effect = apply(carrier.status, update.status)
    if effect is None:
        if carrier == order.carrier:
            return None
        return replace(order, carrier=carrier, version=order.version + 1, updated_at=at), [], []
    carrier = replace(carrier, status=effect.carrier_status)
    moved = replace(order, carrier=carrier)
    events: list[TimelineEvent] = []
    messages: list[str | tuple[str, dict[str, Any]]] = []
    for step in effect.moves:
        if step.status is OrderStatus.FAILED_ATTEMPT:
            moved = replace(moved, failed_attempts=moved.failed_attempts + 1)
        if step == DELIVERED:
            moved = replace(moved, first_attempt=moved.failed_attempts == 0)
        moved = moved.moved_to(step.status, at=at)
        events.append(
            TimelineEvent(at, step.status, step.message, f"{carrier.name} {update.status}")
        )
        messages.append(step.message)
    if effect.back_to_pool is not None:
        moved = moved.moved_to(OrderStatus.READY, at=at)
        moved = replace(
            moved, carrier=None, unassigned_reason=effect.back_to_pool, eta=None, route_id=None
        )
        events.append(TimelineEvent(at, OrderStatus.READY, "order.ready", effect.back_to_pool))
    # One write, one version step, however many moves it holds (save checks the one read).
    return replace(moved, version=order.version + 1, updated_at=at), events, messages
