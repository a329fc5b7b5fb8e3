"""The outbox handler that hands an overflow order to a partner carrier, off the Commit's hot
path: a run that leaves an order out because the fleet is short announces `carrier.offer`;
this handler claims the order, asks each of the depot's carriers for a quote, accepts the one
the policy chooses and records the job on the order, once. A carrier that is down raises (the
work is parked and retried, then dead-lettered; the claim lapses and our own runs take the
order again); no acceptable quote gives it back to our next run as `carrier_declined`."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from aws_lambda_powertools import Logger

from chalicelib.carriers.policy import choose
from chalicelib.carriers.ports import (
    Carrier,
    CarrierDeclined,
    CarrierJob,
    CarrierUnavailable,
    Handoff,
    Money,
    Place,
    Quote,
)
from chalicelib.carriers.progress import CARRIER_DECLINED
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.order import CarrierHandling, Order
from chalicelib.domain.tenancy import Depot
from chalicelib.domain.times import iso_z, parse_iso, utc_now
from chalicelib.routing.model import REASON_CAPACITY_SHORT, REASON_OUTSIDE_SHIFT

logger = Logger(child=True)

TRIGGER = "carrier.offer"
CANCELLED = "order.cancelled"
FINISHED = frozenset({"delivered", "canceled", "returned"})  # the carrier's last words
# Why a run left an order out that a carrier may take instead: the fleet was short of room or
# of shifts, not the order wrong (a bad address or a full locker is no carrier's to fix).
OVERFLOW = frozenset({REASON_CAPACITY_SHORT, REASON_OUTSIDE_SHIFT})
# How long a handoff holds the order against our own runs: a quote's life, so retries during a
# carrier outage keep it, and a handoff that dies lets the runs take it back.
CLAIM_FOR = timedelta(minutes=15)


def offer(reason: str) -> tuple[str, dict[str, Any]] | None:
    """The outbox message a run's Commit writes with an order it leaves out for `reason`, when a
    partner carrier could take it instead (None otherwise)."""
    return (TRIGGER, {"reason": reason}) if reason in OVERFLOW else None


class Orders(Protocol):
    def get(self, order_id: str) -> Order | None: ...


class Depots(Protocol):
    def depot(self, depot_id: str) -> Depot: ...


class Jobs(Protocol):
    def claim(self, order_id: str, now: int, until: int) -> str | None: ...

    def choose(self, order_id: str, carrier: str) -> bool: ...

    def hand_on(self, order: Order, handling: CarrierHandling, eta: str, at: str) -> bool: ...

    def give_back(self, order_id: str, reason: str) -> bool: ...


class CarrierHandoffs:
    def __init__(
        self,
        orders: Orders,
        depots: Depots,
        jobs: Jobs,
        carriers: Mapping[str, Carrier],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._orders = orders
        self._depots = depots
        self._jobs = jobs
        self._carriers = carriers
        self._clock = clock

    def handle(self, message: dict[str, Any]) -> str | None:
        """Offer the message's order to its depot's carriers, or call its courier off when it
        was cancelled; what happened ("handed", "declined", "changed", "called_off",
        "too_late") or None when there is nothing to do. Raises CarrierUnavailable when no
        carrier could answer, so the work is retried."""
        if message.get("type") == CANCELLED and message.get("order_id"):
            return self._call_off(str(message["order_id"]))
        if message.get("type") != TRIGGER or not message.get("order_id"):
            return None
        order = self._orders.get(str(message["order_id"]))
        if order is None or order.status is not OrderStatus.READY or order.carrier is not None:
            return None
        depot = self._depots.depot(order.depot_id)
        offered = {
            c["carrier"]: Money(int(c["max_price"]["amount"]), str(c["max_price"]["currency"]))
            for c in depot.carriers
            if c.get("enabled", True) and c["carrier"] in self._carriers
        }
        if not offered or not order.address.has_coordinates:
            return None
        now = self._clock()
        claim = self._jobs.claim(order.order_id, int(now), int(now + CLAIM_FOR.total_seconds()))
        if claim is None:
            return None  # a run holds it, or it moved on
        _, _, chosen_before = claim.partition("#")
        if chosen_before:
            # An earlier attempt chose this carrier and may have created the delivery: ask it
            # alone (its create is keyed by our order id, so it answers with that delivery).
            offered = {k: v for k, v in offered.items() if k == chosen_before}
            if not offered:  # the depot dropped it since: nothing to resume
                self._jobs.give_back(order.order_id, CARRIER_DECLINED)
                return "declined"
        handoff = _handoff(order, depot, datetime.fromtimestamp(now, UTC))
        quotes, down = self._quotes(handoff, offered)
        chosen = choose(quotes, parse_iso(handoff.deliver_by), offered, datetime.now(UTC))
        if chosen is None:
            if down:
                raise CarrierUnavailable(f"{', '.join(down)} did not answer for {order.order_id}")
            self._jobs.give_back(order.order_id, CARRIER_DECLINED)
            logger.info("no carrier quote fits", order_id=order.order_id, quotes=len(quotes))
            return "declined"
        carrier = self._carriers[chosen.carrier]
        if not chosen_before and not self._jobs.choose(order.order_id, chosen.carrier):
            return None  # the claim was lost meanwhile
        try:
            job = carrier.create(handoff, chosen)
        except CarrierDeclined:
            self._jobs.give_back(order.order_id, CARRIER_DECLINED)
            return "declined"
        if not self._jobs.hand_on(order, _handling(job), chosen.dropoff_eta, utc_now()):
            carrier.cancel(job.job_id)  # the order moved on meanwhile: call the courier off
            return "changed"
        logger.info("handed to a carrier", order_id=order.order_id, carrier=job.carrier)
        return "handed"

    def _call_off(self, order_id: str) -> str | None:
        """A cancelled order a carrier still has (by the merchant, a storefront, an operator):
        its delivery cancelled at the carrier, so no courier brings what nobody wants. Too late
        once the carrier refuses (picked up: the parcel comes back as a return)."""
        order = self._orders.get(order_id)
        if order is None or order.status is not OrderStatus.CANCELLED or order.carrier is None:
            return None
        handling = order.carrier
        carrier = self._carriers.get(handling.name)
        if carrier is None or handling.status in FINISHED:
            return None
        try:
            carrier.cancel(handling.job_id)
        except CarrierDeclined as exc:
            logger.warning(
                "carrier would not cancel", order_id=order_id, carrier=handling.name, why=str(exc)
            )
            return "too_late"
        logger.info("courier called off", order_id=order_id, carrier=handling.name)
        return "called_off"

    def _quotes(
        self, handoff: Handoff, offered: Mapping[str, Money]
    ) -> tuple[list[Quote], list[str]]:
        quotes: list[Quote] = []
        down: list[str] = []
        for name in sorted(offered):
            try:
                quotes.append(self._carriers[name].quote(handoff))
            except CarrierDeclined as exc:
                logger.info("carrier declined to quote", carrier=name, error=str(exc))
            except CarrierUnavailable as exc:
                logger.warning("carrier unavailable", carrier=name, error=str(exc))
                down.append(name)
        return quotes, down


def _handling(job: CarrierJob) -> CarrierHandling:
    return CarrierHandling(
        name=job.carrier,
        job_id=job.job_id,
        status=job.status if job.status in ("pending", "pickup") else "pending",
        fee_amount=job.fee.amount,
        fee_currency=job.fee.currency,
        quote_id=job.quote_id,
    )


def _handoff(order: Order, depot: Depot, now: datetime) -> Handoff:
    """What the carrier is asked: from the depot, to the customer, by the end of the window
    promised (an order without one: by the end of the depot's local day)."""
    if order.delivery.window is not None:
        deliver_by = parse_iso(order.delivery.window.end)
    else:
        local = now.astimezone(ZoneInfo(depot.timezone))
        deliver_by = local.replace(hour=23, minute=59, second=0, microsecond=0)
    address = order.address
    assert address.lat is not None and address.lng is not None
    street = ", ".join(
        p for p in (address.line1, address.line2, address.city, address.postcode) if p
    )
    return Handoff(
        order_id=order.order_id,
        pickup=Place(depot.name, depot.lat, depot.lng, depot.name),
        dropoff=Place(street, address.lat, address.lng, order.customer.name, order.customer.phone),
        ready_at=iso_z(now),
        deliver_by=iso_z(deliver_by),
        items=len(order.parcels),
    )
