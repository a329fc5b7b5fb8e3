"""Builds the facts of a state change and stages them, with their aggregates, into the
change's own transaction (the one place every writer calls: deliveries, failed attempts,
locker deposits, collections and expiries, cancellations, ratings, routes)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import tzinfo
from typing import Protocol

from chalicelib.analytics.facts import (
    NONE,
    Delivered,
    Fact,
    RouteDone,
    Stop,
    delivery_fact,
    failed_fact,
    local_day,
    order_fact,
    rating_fact,
    route_fact,
    zone_of,
)
from chalicelib.domain.dispatch import PlannedRoute
from chalicelib.domain.errors import DuplicateEvent
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.order import Order, TimelineEvent
from chalicelib.domain.times import epoch_s
from chalicelib.store.transaction import Transaction

# The most items one change's facts add to its transaction: the fact, its cell, its bucket.
FACT_ITEMS = 3


class Facts(Protocol):
    def stage(self, tx: Transaction, facts: Sequence[Fact]) -> None: ...

    def record(self, facts: Sequence[Fact]) -> None: ...

    def fact(self, subject: str, identity: str) -> Fact | None: ...


def stop_of(route: PlannedRoute | None) -> Stop | None:
    """A stop's share of its route: the vehicle, and the route's distance over its stops."""
    if route is None:
        return None
    share = route.distance_m / max(1, len(route.stops))
    return Stop(route.route_id, route.vehicle_id, route.profile, round(share, 1))


def _last(timeline: Sequence[TimelineEvent], kind: str, after: str | None = None) -> str | None:
    times = [e.at for e in timeline if e.type == kind and (after is None or e.at >= after)]
    return max(times, key=epoch_s) if times else None


def promised_window(order: Order) -> tuple[str, str] | None:
    """The last window told to the customer (with the ETA, recorded when told); else the one
    the merchant sold (a slot, a day chosen on the tracking page); None: nothing promised."""
    if order.eta_from and order.eta_to:
        return order.eta_from, order.eta_to
    window = order.delivery.window
    return (window.start, window.end) if window else None


class FactRecorder:
    def __init__(
        self,
        facts: Facts,
        zones: Callable[[str], str | None],
        timelines: Callable[[str], Sequence[TimelineEvent]],
        routes: Callable[[str], PlannedRoute | None],
        orders: Callable[[str], Order | None],
    ) -> None:
        self._facts = facts
        self._zones = zones  # depot id -> its IANA time zone
        self._timelines = timelines  # order id -> its timeline, as stored
        self._routes = routes  # route id -> the route
        self._orders = orders  # order id -> the order
        self._zone_cache: dict[str, tzinfo] = {}

    def _zone(self, depot_id: str) -> tzinfo:
        # A depot's zone practically never changes: one read per depot per container.
        if depot_id not in self._zone_cache:
            self._zone_cache[depot_id] = zone_of(self._zones(depot_id))
        return self._zone_cache[depot_id]

    def _delivered(
        self,
        before: Order,
        at: str,
        stop: Stop | None,
        locker_id: str | None,
        labels: Sequence[str] = (),
    ) -> Fact:
        timeline = self._timelines(before.order_id)
        out = _last(timeline, "order.out_for_delivery") or (at if locker_id else None)
        return delivery_fact(
            Delivered(
                order_id=before.order_id,
                merchant_id=before.merchant_id,
                depot_id=before.depot_id,
                received_at=before.created_at,
                delivered_at=at,
                parcels=len(before.parcels),
                attempt=before.failed_attempts + 1,
                out_for_delivery_at=out,
                arrived_at=_last(timeline, "driver.arrived", after=out),
                window=promised_window(before),
                # The labels scanned at the door, when the driver scanned: in full only if all.
                parcels_delivered=len(set(labels)) if labels else None,
                locker_id=locker_id,
            ),
            stop,
            self._zone(before.depot_id),
        )

    def at_stop(
        self,
        tx: Transaction,
        before: Order,
        after: Order,
        at: str,
        route: PlannedRoute,
        reason: str | None = None,
        labels: Sequence[str] = (),
    ) -> None:
        """A driver's delivered or failed event at the door (and the return it may cause);
        `labels`, the parcels scanned at the door (none: every parcel counts as delivered)."""
        stop = stop_of(route)
        zone = self._zone(before.depot_id)
        facts: list[Fact] = []
        if after.status is OrderStatus.DELIVERED:
            facts.append(self._delivered(before, at, stop, None, labels))
        else:
            timeline = self._timelines(before.order_id)
            out = _last(timeline, "order.out_for_delivery")
            facts.append(
                failed_fact(
                    before.order_id,
                    before.merchant_id,
                    before.depot_id,
                    at,
                    reason,
                    before.failed_attempts + 1,
                    stop,
                    zone,
                    arrived_at=_last(timeline, "driver.arrived", after=out),
                )
            )
            if after.status is OrderStatus.RETURNED:
                facts.append(self._order_fact("return", after, at))
        self._facts.stage(tx, facts)

    def deposited(self, tx: Transaction, before: Order, at: str, locker_id: str) -> None:
        """A parcel put into a locker: the order's delivery, to a locker."""
        route = self._routes(before.route_id) if before.route_id else None
        self._facts.stage(tx, [self._delivered(before, at, stop_of(route), locker_id)])

    def collected(self, tx: Transaction, order: Order, at: str, deposited_at: str) -> None:
        seconds = max(0, epoch_s(at) - epoch_s(deposited_at))
        fact = self._order_fact(
            "locker_collection", order, at, deposited_at=deposited_at, collection_s=seconds
        )
        self._facts.stage(tx, [fact])

    def expired(self, tx: Transaction, order: Order, at: str, deposited_at: str) -> None:
        fact = self._order_fact(
            "locker_expiry",
            order,
            at,
            deposited_at=deposited_at,
            locker_id=order.delivery.locker_id,
        )
        self._facts.stage(tx, [fact])

    def cancelled(self, tx: Transaction, before: Order, at: str) -> None:
        fact = self._order_fact("cancellation", before, at, was=str(before.status))
        self._facts.stage(tx, [fact])

    def rated(self, tx: Transaction, order_id: str, rating: int, at: str) -> None:
        """A rating counts with the delivery it rates: its day and vehicle."""
        delivery = self._facts.fact(order_id, "DELIVERY")
        if delivery is not None:
            merchant_id, depot_id = delivery.merchant_id, delivery.depot_id
        else:  # delivered before its facts were kept: the order says where
            order = self._orders(order_id)
            if order is None:
                return
            merchant_id, depot_id = order.merchant_id, order.depot_id
        fallback = local_day(at, self._zone(depot_id))
        fact = rating_fact(order_id, merchant_id, depot_id, rating, at, delivery, fallback)
        self._facts.stage(tx, [fact])

    def departed(self, route: PlannedRoute, at: str) -> Fact:
        """The driver's departure, when the route's actual duration starts (once a route)."""
        return Fact(
            kind="route_departure",
            subject=route.route_id,
            identity="DEPARTED",
            day=local_day(at, self._zone(route.depot_id)),
            depot_id=route.depot_id,
            merchant_id=NONE,
            vehicle_id=route.vehicle_id,
            at=at,
            values={"vehicle_profile": route.profile, "planned_start": route.start_at},
        )

    def record_departure(self, route: PlannedRoute, at: str) -> None:
        """The first departure only: a retried or repeated `departed` keeps the first time."""
        if self._facts.fact(route.route_id, "DEPARTED") is not None:
            return
        try:
            self._facts.record([self.departed(route, at)])
        except DuplicateEvent:
            return  # a concurrent copy of the same departure was first

    def route_done(self, tx: Transaction, route: PlannedRoute, at: str) -> None:
        """The route's last stop served: planned against actual (once: a route given stops
        again after it finished keeps its first completion)."""
        if self._facts.fact(route.route_id, "ROUTE") is not None:
            return
        departure = self._facts.fact(route.route_id, "DEPARTED")
        done = RouteDone(
            route_id=route.route_id,
            depot_id=route.depot_id,
            vehicle_id=route.vehicle_id,
            profile=route.profile,
            planned_start=route.start_at,
            planned_duration_s=route.duration_s,
            distance_m=route.distance_m,
            stops=len(route.stops),
            tasks=sum(1 for s in route.stops if s.state == "done"),
            started_at=departure.at if departure else route.start_at,
            finished_at=at,
        )
        self._facts.stage(tx, [route_fact(done, self._zone(route.depot_id))])

    def _order_fact(self, kind: str, order: Order, at: str, **values: object) -> Fact:
        return order_fact(
            kind,
            order.order_id,
            order.merchant_id,
            order.depot_id,
            at,
            self._zone(order.depot_id),
            **{k: v for k, v in values.items() if isinstance(v, str | int | float | bool)},
        )
