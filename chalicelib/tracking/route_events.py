"""Drivers' events on their route. Each moves its order through the lifecycle (an illegal move
is a 409), lands on the timeline with its outbox message, re-times the stops left, and counts
once however often the driver's phone sends it (by its event id)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Protocol

from chalicelib.dispatch.driver_tokens import DriverTokens
from chalicelib.dispatch.eta import changed_etas, from_position
from chalicelib.domain.dispatch import PlannedRoute
from chalicelib.domain.errors import (
    ConcurrentUpdate,
    DuplicateEvent,
    OrderNotFound,
    RouteNotFound,
    ValidationFailed,
)
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.order import Order, TimelineEvent
from chalicelib.domain.times import parse_iso
from chalicelib.store.dispatch import DispatchRepository
from chalicelib.store.orders import Message, OrderRepository

EVENT_TYPES = (
    "departed",
    "arrived",
    "delivered",
    "failed",
    "deposited",
    "retrieved",
    "location",
)
FAILURE_REASONS = (
    "not_home",
    "no_access",
    "refused",
    "damaged",
    "address_wrong",
    "unsafe_to_leave",
    "business_closed",
    "other",
)
# Where the stop's order goes, the message its customer gets, for the events that serve a stop
# at a door (a locker's own events go through the locker service: doors, codes).
SERVING = {
    "delivered": (OrderStatus.DELIVERED, "order.delivered"),
    "failed": (OrderStatus.FAILED_ATTEMPT, "order.failed"),
}
LOCKER_EVENTS = ("deposited", "retrieved")
MAX_ATTEMPTS = 3  # delivery attempts before a parcel is returned to the merchant
UPLOAD_SECONDS = 900
DELAY_THRESHOLD = timedelta(minutes=15)  # later than promised by this much: "delayed", once


@dataclass(frozen=True)
class RouteEvent:
    type: str
    at: str
    event_id: str | None = None
    order_id: str | None = None
    lat: float | None = None
    lng: float | None = None
    reason: str | None = None
    proof: dict[str, Any] | None = None
    locker_id: str | None = None  # deposited: the locker, when not the stop's own (a redirect)


class LockerDesk(Protocol):
    """The locker kiosk, as the driver's route events use it."""

    def deposit(
        self, locker_id: str, credential: str | None, order_id: str, at: str | None = None
    ) -> dict[str, Any]: ...

    def retrieve(
        self, locker_id: str, credential: str | None, order_id: str, at: str | None = None
    ) -> dict[str, Any]: ...


class RouteEventService:
    def __init__(
        self,
        routes: DispatchRepository,
        orders: OrderRepository,
        tokens: DriverTokens,
        uploads: Callable[[str, str, int], str],
        lockers: Callable[[], LockerDesk] | None = None,
    ) -> None:
        self._routes = routes
        self._orders = orders
        self._tokens = tokens
        self._uploads = uploads  # (key, content type, seconds) -> presigned PUT URL
        self._lockers = lockers

    def route_for_driver(self, route_id: str, token: str | None) -> PlannedRoute:
        """The route, if `token` is its driver's (a token opens its own route only)."""
        self._tokens.check(route_id, token)
        route = self._routes.get_route(route_id)
        if route is None:
            raise RouteNotFound(f"no route {route_id}")
        return route

    def proof_upload(
        self, route_id: str, token: str | None, order_id: str, content_type: str
    ) -> dict[str, Any]:
        """Where the driver's phone PUTs a proof photo (15 minutes), and the key to cite."""
        route = self.route_for_driver(route_id, token)
        if not any(s.order_id == order_id for s in route.stops):
            raise OrderNotFound(f"order {order_id} is not on route {route_id}")
        extension = "png" if content_type == "image/png" else "jpg"
        key = f"proofs/{route_id}/{order_id}/{secrets.token_hex(8)}.{extension}"
        url = self._uploads(key, content_type, UPLOAD_SECONDS)
        return {"upload_url": url, "photo_key": key, "expires_in": UPLOAD_SECONDS}

    def record(self, route_id: str, token: str | None, event: RouteEvent) -> dict[str, Any]:
        route = self.route_for_driver(route_id, token)
        claim = (
            {"pk": f"ROUTEEVENT#{route_id}#{event.event_id}", "sk": "RECEIPT"}
            if event.event_id
            else None
        )
        if claim and self._orders.exists(claim):
            return {"route_id": route_id, "outcome": "duplicate"}
        try:
            if event.type == "departed":
                result = self._departed(route, event)
            elif event.type == "location":
                result = self._location(route, event)
            elif event.type in LOCKER_EVENTS:
                result = self._at_locker(route, token, event)
            else:
                result = self._at_stop(route, event, claim)
                claim = None  # written with the order's change
            if claim:
                self._orders.claim_once(claim, route_id=route_id)
        except DuplicateEvent:
            return {"route_id": route_id, "outcome": "duplicate"}
        return {"route_id": route_id, "outcome": "applied", **result}

    # -- the events ----------------------------------------------------------------------------

    def _departed(self, route: PlannedRoute, event: RouteEvent) -> dict[str, Any]:
        """Every order still planned on the route is out for delivery; ETAs from now."""
        for stop in route.stops:
            order = self._order(stop.order_id)
            if order.status is OrderStatus.PLANNED:
                moved = order.moved_to(OrderStatus.OUT_FOR_DELIVERY, at=event.at)
                timeline = TimelineEvent(event.at, moved.status, "order.out_for_delivery")
                self._orders.save(
                    moved,
                    [timeline],
                    expected_version=order.version,
                    messages=[("order.out_for_delivery", {"eta": stop.eta})],
                )
        route = self._retime(route, route.depot_lat, route.depot_lng, event.at)
        return {"next_stop": self._announce_next(route, event.at)}

    def _location(self, route: PlannedRoute, event: RouteEvent) -> dict[str, Any]:
        if event.lat is None or event.lng is None:
            raise ValidationFailed("lat and lng: required for a location", field="lat")
        route = self._retime(route, event.lat, event.lng, event.at)
        return {"next_stop": _next(route)}

    def _at_stop(
        self, route: PlannedRoute, event: RouteEvent, claim: dict[str, str] | None
    ) -> dict[str, Any]:
        stop = next((s for s in route.stops if s.order_id == event.order_id), None)
        if event.order_id is None:
            raise ValidationFailed(f"order_id: required for {event.type}", field="order_id")
        if stop is None:
            raise OrderNotFound(f"order {event.order_id} is not on route {route.route_id}")
        order = self._order(stop.order_id)
        if event.type == "arrived":
            timeline = TimelineEvent(event.at, order.status, "driver.arrived")
            arrived = replace(order, updated_at=event.at, version=order.version + 1)
            self._orders.save(arrived, [timeline], expected_version=order.version, claim=claim)
            return {"order_id": order.order_id, "status": str(order.status)}
        target, message_type = SERVING[event.type]
        moved = order.moved_to(target, at=event.at)  # IllegalTransition: 409
        served_events = [TimelineEvent(event.at, moved.status, message_type, _note(event))]
        extra: dict[str, Any] = {"reason": event.reason} if event.reason else {}
        if target is OrderStatus.DELIVERED:
            moved = replace(moved, first_attempt=order.failed_attempts == 0)
        if target is OrderStatus.FAILED_ATTEMPT:
            moved, next_step = _after_failure(moved, event.at)
            served_events.append(TimelineEvent(event.at, moved.status, f"order.{next_step}"))
            extra["next"] = next_step
        message: Message = (message_type, extra)
        self._orders.save(
            moved, served_events, expected_version=order.version, messages=[message], claim=claim
        )
        served = replace(
            route,
            stops=tuple(replace(s, state="done") if s is stop else s for s in route.stops),
        )
        route = self._retime(served, stop.lat, stop.lng, event.at, base=route)
        return {
            "order_id": order.order_id,
            "status": str(moved.status),
            "next_stop": self._announce_next(route, event.at),
        }

    def _at_locker(
        self, route: PlannedRoute, token: str | None, event: RouteEvent
    ) -> dict[str, Any]:
        """A parcel put into (or an expired one taken out of) a locker: the locker service
        opens the doors and tells us the stop is served (stop_served)."""
        stop = next((s for s in route.stops if s.order_id == event.order_id), None)
        if stop is None:
            raise OrderNotFound(f"order {event.order_id} is not on route {route.route_id}")
        locker_id = event.locker_id or stop.locker_id
        if not locker_id:
            raise ValidationFailed(
                f"locker_id: required to {event.type} a parcel of a home stop", field="locker_id"
            )
        if self._lockers is None:
            raise RuntimeError("route events were built without the locker service")
        desk = self._lockers()
        act = desk.deposit if event.type == "deposited" else desk.retrieve
        return {"locker_id": locker_id, **act(locker_id, token, stop.order_id, event.at)}

    def stop_served(self, route_id: str, order_id: str, at: str) -> dict[str, str] | None:
        """A stop was served elsewhere (at a locker's kiosk): done, the rest re-timed, the next
        customer told. Returns the next stop."""
        route = self._routes.get_route(route_id)
        stop = next((s for s in route.stops if s.order_id == order_id), None) if route else None
        if route is None or stop is None or stop.state == "done":
            return None
        served = replace(
            route,
            stops=tuple(replace(s, state="done") if s is stop else s for s in route.stops),
        )
        route = self._retime(served, stop.lat, stop.lng, at, base=route)
        return self._announce_next(route, at)

    # -- shared ------------------------------------------------------------------------------

    def _order(self, order_id: str) -> Order:
        order = self._orders.get(order_id)
        if order is None:
            raise OrderNotFound(f"no order {order_id}")
        return order

    def _retime(
        self,
        route: PlannedRoute,
        lat: float,
        lng: float,
        at: str,
        base: PlannedRoute | None = None,
    ) -> PlannedRoute:
        """Re-time the stops left from (lat, lng) at `at`, store the route (optimistically), move
        each order's ETA, and tell the customers whose stop is now late beyond the threshold."""
        base = base or route
        for _ in range(3):
            retimed = from_position(route, lat, lng, at)
            late = {
                s.order_id
                for s in retimed.stops
                if s.state == "pending"
                and not s.delay_announced
                and parse_iso(s.eta) - parse_iso(s.planned_eta or s.eta) > DELAY_THRESHOLD
            }
            retimed = replace(
                retimed,
                stops=tuple(
                    replace(s, delay_announced=True) if s.order_id in late else s
                    for s in retimed.stops
                ),
            )
            try:
                self._routes.replace_route(retimed, expected_version=base.version)
            except ConcurrentUpdate:
                fresh = self._routes.get_route(route.route_id)
                if fresh is None:
                    raise
                route = base = replace(fresh, stops=_merge_states(fresh, route))
                continue
            for order_id, eta in changed_etas(base, retimed).items():
                self._routes.set_eta(order_id, route.route_id, eta)
            for stop in retimed.stops:
                if stop.order_id in late:
                    self._orders.announce(
                        self._order(stop.order_id), "order.delayed", at, eta=stop.eta
                    )
            return retimed
        raise ConcurrentUpdate(f"route {route.route_id} keeps changing; retry")

    def _announce_next(self, route: PlannedRoute, at: str) -> dict[str, str] | None:
        """The customer of the next stop hears the van is coming."""
        upcoming = _next(route)
        if upcoming is not None:
            order = self._order(upcoming["order_id"])
            if order.status is OrderStatus.OUT_FOR_DELIVERY:
                self._orders.announce(order, "order.arriving", at, eta=upcoming["eta"])
        return upcoming


def _after_failure(order: Order, at: str) -> tuple[Order, str]:
    """The failed-attempt policy: back to ready for the depot's next run, until the last
    attempt, after which the parcel goes back to the merchant."""
    failed = replace(order, failed_attempts=order.failed_attempts + 1)
    if failed.failed_attempts >= MAX_ATTEMPTS:
        return failed.moved_to(OrderStatus.RETURNED, at=at), "returning"
    again = failed.moved_to(OrderStatus.READY, at=at)
    return replace(again, route_id=None, eta=None), "rescheduled"


def _next(route: PlannedRoute) -> dict[str, str] | None:
    stop = next((s for s in route.stops if s.state == "pending"), None)
    return {"order_id": stop.order_id, "eta": stop.eta} if stop else None


def _merge_states(fresh: PlannedRoute, mine: PlannedRoute) -> tuple[Any, ...]:
    """The stored route's stops with the states this event set on top."""
    done = {s.order_id for s in mine.stops if s.state == "done"}
    return tuple(replace(s, state="done") if s.order_id in done else s for s in fresh.stops)


def _note(event: RouteEvent) -> str | None:
    parts = []
    if event.reason:
        parts.append(f"reason: {event.reason}")
    for key, value in sorted((event.proof or {}).items()):
        parts.append(f"{key}: {value}")
    return "; ".join(parts) or None
