"""Drivers' events on their route. Each moves its order through the lifecycle (an illegal move
is a 409; an order no longer on this route, or a stop no longer pending, too), lands on the
timeline with its outbox message, re-times the stops left on server time (live ETAs on the route
item; an order's own only when it moved far enough), and counts once however often the driver's
phone sends it (by its event id). Parcels are scanned onto the van by their labels, and a
delivery writes its proof (labels scanned at the door, the uploads it cites) with the order."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from chalicelib.analytics.recorder import FactRecorder
from chalicelib.dispatch.driver_tokens import DriverTokens
from chalicelib.dispatch.eta import current_trip, from_position, published
from chalicelib.domain.dispatch import Fix, PlannedRoute, RouteStop
from chalicelib.domain.errors import (
    ConcurrentUpdate,
    DuplicateEvent,
    NotOnRoute,
    OrderNotFound,
    RouteNotFound,
    StopNotPending,
    ValidationFailed,
    WrongParcel,
)
from chalicelib.domain.eta_windows import Told
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.order import Order, TimelineEvent, labels_of
from chalicelib.domain.proof import (
    PROOF_KINDS,
    UPLOAD_SIZES,
    UPLOAD_TYPES,
    Proof,
    scanned_at_door,
    upload_prefix,
)
from chalicelib.domain.times import iso_z, parse_iso
from chalicelib.store.dispatch import DispatchRepository
from chalicelib.store.orders import Message, OrderRepository, proof_model
from chalicelib.store.transaction import Transaction
from chalicelib.tracking.fixes import clock_problem, fix_problem, kept_ignored
from chalicelib.tracking.proof_store import ProofStore

EVENT_TYPES = (
    "scanned",
    "departed",
    "arrived",
    "delivered",
    "failed",
    "deposited",
    "retrieved",
    "location",
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
    """A driver's event. `at` is the phone's time (any offset; None: ours); once recorded it is
    the time the record keeps (ours when the phone's was implausible: `clock` says why, and
    `claimed_at` keeps what the phone said), and `received_at` ours (what ETAs run on)."""

    type: str
    at: str | None
    event_id: str | None = None
    order_id: str | None = None
    lat: float | None = None
    lng: float | None = None
    reason: str | None = None
    proof: dict[str, Any] | None = None
    locker_id: str | None = None  # deposited: the locker, when not the stop's own (a redirect)
    label: str | None = None  # scanned: the parcel's label
    labels: tuple[str, ...] | None = None  # delivered: the labels scanned at the door
    received_at: str | None = None
    claimed_at: str | None = None
    clock: str | None = None


class LockerDesk(Protocol):
    """The locker kiosk, as the driver's route events use it."""

    def deposit(
        self, locker_id: str, credential: str | None, order_id: str, at: str | None = None
    ) -> dict[str, Any]: ...

    def retrieve(
        self, locker_id: str, credential: str | None, order_id: str, at: str | None = None
    ) -> dict[str, Any]: ...


# What a route write changes of the route it read (applied again to a fresher copy when
# another writer got there first).
Change = Callable[[PlannedRoute], PlannedRoute]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class RouteEventService:
    def __init__(
        self,
        routes: DispatchRepository,
        orders: OrderRepository,
        tokens: DriverTokens,
        proofs: ProofStore,
        lockers: Callable[[], LockerDesk] | None = None,
        clock: Callable[[], datetime] = _utc_now,
        facts: FactRecorder | None = None,
    ) -> None:
        self._routes = routes
        self._orders = orders
        self._tokens = tokens
        self._proofs = proofs  # proof images in S3: upload forms, what was uploaded
        self._lockers = lockers
        self._clock = clock  # server time: what ETAs run on, whatever the phones say
        self._facts = facts  # analytics: the facts of each change, in its transaction

    def authenticate(self, route_id: str, token: str | None) -> None:
        """AuthenticationFailed unless `token` is the route's, unexpired (no read: the API asks
        this before it reads the body)."""
        self._tokens.check(route_id, token)

    def route_for_driver(self, route_id: str, token: str | None) -> PlannedRoute:
        """The route, if `token` is its driver's (a token opens its own route only)."""
        self.authenticate(route_id, token)
        route = self._routes.get_route(route_id)
        if route is None:
            raise RouteNotFound(f"no route {route_id}")
        return route

    def proof_upload(
        self, route_id: str, token: str | None, order_id: str, kind: str, content_type: str
    ) -> dict[str, Any]:
        """Where the driver's phone POSTs a proof photo or signature (15 minutes; S3 takes
        only this key, this image type and a size in range), and the key to cite."""
        route = self.route_for_driver(route_id, token)
        if not any(s.order_id == order_id for s in route.stops):
            raise OrderNotFound(f"order {order_id} is not on route {route_id}")
        prefix = upload_prefix(route_id, order_id, kind)
        key = f"{prefix}{secrets.token_hex(8)}.{UPLOAD_TYPES[content_type]}"
        sizes = UPLOAD_SIZES[kind]
        form = self._proofs.upload_form(key, content_type, sizes, UPLOAD_SECONDS)
        return {
            **form,
            "kind": kind,
            "key": key,
            f"{kind}_key": key,
            "content_type": content_type,
            "min_bytes": sizes[0],
            "max_bytes": sizes[1],
            "expires_in": UPLOAD_SECONDS,
        }

    def record(self, route_id: str, token: str | None, event: RouteEvent) -> dict[str, Any]:
        route = self.route_for_driver(route_id, token)
        event = self._timed(event)
        if event.type == "location":
            # A ping's id is kept with its fix on the route item, not in a receipt of its own:
            # one write a ping, whatever the phone sends.
            if event.event_id and _seen_fix(route, event.event_id):
                return {"route_id": route_id, "outcome": "duplicate"}
            return {"route_id": route_id, "outcome": "applied", **self._location(route, event)}
        claim = (
            {"pk": f"ROUTEEVENT#{route_id}#{event.event_id}", "sk": "RECEIPT"}
            if event.event_id
            else None
        )
        if claim and self._orders.exists(claim):
            return {"route_id": route_id, "outcome": "duplicate"}
        try:
            if event.type == "scanned":
                result = self._scanned(route, event)
            elif event.type == "departed":
                result = self._departed(route, event)
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

    def _timed(self, event: RouteEvent) -> RouteEvent:
        """The event with the time its record keeps: the phone's, unless its clock is off."""
        received = self._clock()
        ours = iso_z(received, "milliseconds")
        if event.at is None:
            return replace(event, at=ours, received_at=ours)
        try:
            claimed = parse_iso(event.at)
            problem = clock_problem(claimed, received, fix=event.type == "location")
        except (ValueError, TypeError) as exc:  # not ISO 8601, or without a zone
            raise ValidationFailed("at: an ISO 8601 time with its offset", field="at") from exc
        if problem:
            return replace(event, at=ours, received_at=ours, claimed_at=event.at, clock=problem)
        return replace(event, at=iso_z(claimed, "milliseconds"), received_at=ours)

    # -- the events ----------------------------------------------------------------------------

    def _departed(self, route: PlannedRoute, event: RouteEvent) -> dict[str, Any]:
        """Every order still planned on the trip leaving now (the route's only one, or the next
        after a reload: `departed` once per trip) is out for delivery, told the ETA re-timed
        from now (the same its page, its webhook and the API then show); then the first
        customer hears the van is coming. Later trips' orders stay planned, their ETAs moved."""
        at = _recorded(event)
        if self._facts is not None:
            self._facts.record_departure(route, at)
        trip = departing_trip(route)
        pending = frozenset(
            s.order_id for s in route.stops if s.state == "pending" and s.trip == trip
        )
        aboard = self._labels_aboard(route, pending)

        def departed(r: PlannedRoute) -> PlannedRoute:
            # The parcels of the trip leaving now that were not scanned onto the vehicle.
            missing = tuple(x for x in aboard if x not in r.loaded)
            return left_on(replace(r, not_loaded=missing), trip, _received(event))

        done = self._rewrite(
            route,
            departed,
            (route.depot_lat, route.depot_lng),
            _received(event),
            announce=True,
            heading=True,
            tell=pending,
        )
        for stop in done.route.stops:
            told = done.told.get(stop.order_id)
            if stop.state != "pending" or told is None or stop.order_id not in pending:
                continue
            order = self._orders.get(stop.order_id)
            if order and order.status is OrderStatus.PLANNED and order.route_id == route.route_id:
                moved = replace(
                    order.moved_to(OrderStatus.OUT_FOR_DELIVERY, at=at),
                    eta=told.eta,
                    eta_from=told.start,
                    eta_to=told.end,
                )
                timeline = TimelineEvent(at, moved.status, "order.out_for_delivery", _note(event))
                self._orders.save(
                    moved,
                    [timeline],
                    expected_version=order.version,
                    messages=[("order.out_for_delivery", told.fields())],
                )
        self._tell_arriving(done, _received(event))
        answer = {"next_stop": done.upcoming, "not_loaded": list(done.route.not_loaded)}
        return answer | {"trip": trip} if route.trips else answer

    def _labels_aboard(self, route: PlannedRoute, pending: frozenset[str]) -> list[str]:
        """The labels of the parcels the route's pending stops should take (their orders still
        planned on it), in stop order."""
        wanted = [
            s.order_id for s in route.stops if s.order_id in pending and s.kind != "retrieval"
        ]
        orders = self._orders.get_many(wanted)
        return [
            label
            for order_id in wanted
            if (order := orders.get(order_id)) is not None and order.route_id == route.route_id
            for label in labels_of(order)
        ]

    def _scanned(self, route: PlannedRoute, event: RouteEvent) -> dict[str, Any]:
        """A parcel scanned onto the van: loaded, once (a label of no pending stop of this
        route is the wrong parcel, and nothing is written)."""
        label = event.label
        if not label:
            raise ValidationFailed("label: required for scanned", field="label")
        order_id = self._orders.order_id_for_label(label)
        stop = next(
            (
                s
                for s in route.stops
                if order_id is not None and s.order_id == order_id and s.kind != "retrieval"
            ),
            None,
        )
        if stop is None or stop.state != "pending":
            raise WrongParcel(
                f"label {label} is not a parcel still to deliver on route {route.route_id}",
                field="label",
            )
        if label in route.loaded:
            return {"label": label, "order_id": stop.order_id, "loaded": len(route.loaded)}
        done = self._rewrite(
            route,
            lambda r: r if label in r.loaded else replace(r, loaded=(*r.loaded, label)),
            None,
            _received(event),
        )
        return {"label": label, "order_id": stop.order_id, "loaded": len(done.route.loaded)}

    def _location(self, route: PlannedRoute, event: RouteEvent) -> dict[str, Any]:
        if event.lat is None or event.lng is None:
            raise ValidationFailed("lat and lng: required for a location", field="lat")
        lat, lng = event.lat, event.lng
        at = _recorded(event)
        problem = event.clock or fix_problem(route, lat, lng, parse_iso(at))
        fix = Fix(lat, lng, event.claimed_at or at, _received(event), problem, event.event_id)
        if problem:
            # Kept for the record; the ETAs stay as they were.
            done = self._rewrite(
                route,
                lambda r: replace(r, ignored_fixes=kept_ignored(r, fix)),
                None,
                _received(event),
            )
            return {"next_stop": done.upcoming, "fix": "ignored", "ignored": problem}
        done = self._rewrite(
            route, lambda r: replace(r, last_fix=fix), (lat, lng), _received(event)
        )
        return {"next_stop": done.upcoming, "fix": "used"}

    def _at_stop(
        self, route: PlannedRoute, event: RouteEvent, claim: dict[str, str] | None
    ) -> dict[str, Any]:
        if event.order_id is None:
            raise ValidationFailed(f"order_id: required for {event.type}", field="order_id")
        stop, order = self._stop_and_order(route, event.order_id)
        at = _recorded(event)
        if event.type == "arrived":
            timeline = TimelineEvent(at, order.status, "driver.arrived", _note(event))
            arrived = replace(order, updated_at=at, version=order.version + 1)
            self._orders.save(arrived, [timeline], expected_version=order.version, claim=claim)
            return {"order_id": order.order_id, "status": str(order.status)}
        target, message_type = SERVING[event.type]
        moved = order.moved_to(target, at=at)  # IllegalTransition: 409
        served_events = [TimelineEvent(at, moved.status, message_type, _note(event))]
        extra: dict[str, Any] = {"reason": event.reason} if event.reason else {}
        if target is OrderStatus.DELIVERED:
            moved = replace(moved, first_attempt=order.failed_attempts == 0)
        if target is OrderStatus.FAILED_ATTEMPT:
            moved, next_step = _after_failure(moved, at)
            served_events.append(TimelineEvent(at, moved.status, f"order.{next_step}"))
            extra["next"] = next_step
        message: Message = (message_type, extra)
        tx = (
            self._delivered_writes(route, order, event) if target is OrderStatus.DELIVERED else None
        )
        facts = self._facts

        def stage_facts(tx: Transaction) -> None:
            if facts is not None:
                facts.at_stop(tx, order, moved, at, route, event.reason, event.labels or ())

        # Conditional on the order's version: a re-plan or a release meanwhile moved it on, and
        # this event changes nothing (ConcurrentUpdate, 409; the phone re-reads and sees why).
        self._orders.save(
            moved,
            served_events,
            expected_version=order.version,
            messages=[message],
            claim=claim,
            tx=tx,
            then=stage_facts,
        )
        upcoming = self._served(route, stop, event)
        return {
            "order_id": order.order_id,
            "status": str(moved.status),
            "next_stop": upcoming,
        }

    def _delivered_writes(
        self, route: PlannedRoute, order: Order, event: RouteEvent
    ) -> Transaction:
        """What a delivery writes beside the order's own items, in the same transaction: its
        proof (checked first: a label of another order, or an upload that is not this stop's,
        refuses the event and nothing is written)."""
        scanned, missing = scanned_at_door(order, event.labels or ())
        given = event.proof or {}
        keys = {
            kind: self._uploaded(route, order, kind, given.get(f"{kind}_key"))
            for kind in PROOF_KINDS
        }
        proof = Proof(
            order_id=order.order_id,
            route_id=route.route_id,
            at=_recorded(event),
            labels_scanned=scanned,
            labels_missing=missing,
            recipient_name=given.get("recipient_name"),
            safe_place=given.get("safe_place"),
            photo_key=keys["photo"],
            signature_key=keys["signature"],
            lat=event.lat,
            lng=event.lng,
        )
        tx = Transaction()
        tx.put(proof_model(proof))
        return tx

    def _uploaded(
        self, route: PlannedRoute, order: Order, kind: str, key: str | None
    ) -> str | None:
        """`key` if it is an upload of this stop's `kind` that S3 holds within the upload's
        limits (S3's policy bounds them; checked again here, as a stand-in may not)."""
        if key is None:
            return None
        name = f"proof.{kind}_key"
        if not key.startswith(upload_prefix(route.route_id, order.order_id, kind)):
            raise ValidationFailed(
                f"{name}: not a {kind} uploaded for this order on this route", field=name
            )
        stored = self._proofs.stored(key)
        if stored is None:
            raise ValidationFailed(f"{name}: nothing was uploaded at {key}", field=name)
        low, high = UPLOAD_SIZES[kind]
        if not low <= stored.size <= high or stored.content_type not in UPLOAD_TYPES:
            raise ValidationFailed(
                f"{name}: the upload is not a {kind} image of {low} to {high} bytes", field=name
            )
        return key

    def _stop_and_order(self, route: PlannedRoute, order_id: str) -> tuple[RouteStop, Order]:
        """The route's stop of `order_id` and its order, provided the order is still on this
        route (NotOnRoute) and its stop still to be served (StopNotPending)."""
        stop = next((s for s in route.stops if s.order_id == order_id), None)
        if stop is None:
            raise OrderNotFound(f"order {order_id} is not on route {route.route_id}")
        order = self._order(order_id)
        if order.route_id != route.route_id:
            raise NotOnRoute(
                f"order {order_id} is no longer on route {route.route_id}; re-read the route"
            )
        if stop.state != "pending":
            raise StopNotPending(f"the stop of order {order_id} is {stop.state}")
        return stop, order

    def _at_locker(
        self, route: PlannedRoute, token: str | None, event: RouteEvent
    ) -> dict[str, Any]:
        """A parcel put into (or an expired one taken out of) a locker: the locker service
        opens the doors and tells us the stop is served (stop_served)."""
        stop = next((s for s in route.stops if s.order_id == event.order_id), None)
        if stop is None:
            raise OrderNotFound(f"order {event.order_id} is not on route {route.route_id}")
        if event.type == "deposited":
            # A retrieval's order kept the route that once delivered it; a deposit's order must
            # be on this one. (A repeated deposit is the kiosk's to answer: it is idempotent.)
            order = self._order(stop.order_id)
            if order.route_id != route.route_id:
                raise NotOnRoute(f"order {stop.order_id} is no longer on route {route.route_id}")
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
        if route is None or stop is None or stop.state != "pending":
            return None
        ours = iso_z(self._clock(), "milliseconds")
        return self._served(route, stop, RouteEvent("served", at, received_at=ours))

    # -- shared ------------------------------------------------------------------------------

    def _served(
        self, route: PlannedRoute, stop: RouteStop, event: RouteEvent
    ) -> dict[str, str] | None:
        """`stop` done, the van known to be there, the rest re-timed from there; the next stop.
        Its customer hears the van is coming only when the driver keeps to the plan (this was
        the first stop waiting): served out of order, where it heads next is anyone's guess."""
        here = Fix(stop.lat, stop.lng, _recorded(event), _received(event))
        ahead = [s for s in route.stops[: route.stops.index(stop)] if s.state == "pending"]
        # Stops still pending ahead of it whose order has left count for nothing.
        in_order = all(
            s.kind != "retrieval" and _left_as(self._orders.get(s.order_id), route.route_id)
            for s in ahead
        )

        def served(r: PlannedRoute) -> PlannedRoute:
            stops = tuple(
                replace(s, state="done") if s.order_id == stop.order_id else s for s in r.stops
            )
            newer = r.last_fix is None or parse_iso(r.last_fix.at) <= parse_iso(here.at)
            return replace(r, stops=stops, last_fix=here if newer else r.last_fix)

        done = self._rewrite(
            route,
            served,
            (stop.lat, stop.lng),
            _received(event),
            announce=True,
            heading=in_order,
        )
        self._tell_arriving(done, _received(event))
        return done.upcoming

    def _order(self, order_id: str) -> Order:
        order = self._orders.get(order_id)
        if order is None:
            raise OrderNotFound(f"no order {order_id}")
        return order

    def _rewrite(
        self,
        route: PlannedRoute,
        change: Change,
        position: tuple[float, float] | None,
        now: str,
        *,
        announce: bool = False,
        heading: bool = False,
        tell: frozenset[str] = frozenset(),
    ) -> Rewritten:
        """Store `change(route)` (optimistically, applied again to a fresher copy when another
        writer was first), its stops left re-timed from `position` at `now` (server time) when
        given. The orders whose ETA moved far enough get it written (those in `tell` always),
        customers still waiting on the route whose stop is now late beyond the threshold are
        told once; with `announce`, stops whose order left the route are marked and skipped,
        and with `heading` the next stop's customer is marked to hear the van is coming (once
        an order, sent by the caller: _tell_arriving)."""
        base = route
        moment = parse_iso(now)
        for _ in range(3):
            changed = change(base)
            upcoming: Order | None = None
            if announce:
                changed, upcoming = self._skip_stale(changed)
            if position is not None:
                retimed = from_position(changed, position[0], position[1], now)
            else:
                retimed = replace(changed, version=base.version + 1)
            retimed, late = self._late(retimed)
            next_stop = next((s for s in retimed.stops if s.state == "pending"), None)
            arriving = (
                upcoming
                if heading
                and upcoming is not None
                and next_stop is not None
                and next_stop.order_id == upcoming.order_id
                and not next_stop.arriving_announced
                # A stop of a later trip: the van goes to the depot first (told on departure).
                and next_stop.trip <= current_trip(retimed)
                and upcoming.status in (OrderStatus.PLANNED, OrderStatus.OUT_FOR_DELIVERY)
                else None
            )
            told_now = set(late) | tell | ({arriving.order_id} if arriving else set())
            retimed = replace(
                retimed,
                stops=tuple(
                    replace(
                        s,
                        delay_announced=s.delay_announced or s.order_id in late,
                        arriving_announced=s.arriving_announced
                        or (arriving is not None and s.order_id == arriving.order_id),
                    )
                    for s in retimed.stops
                ),
            )
            retimed, etas = published(base, retimed, moment, frozenset(told_now))
            finished = retimed if _finishes(base, retimed) else None
            try:
                self._routes.replace_route(
                    retimed,
                    expected_version=base.version,
                    then=self._route_done(finished, now),
                )
            except ConcurrentUpdate:
                fresh = self._routes.get_route(route.route_id)
                if fresh is None:
                    raise
                base = fresh
                continue
            for order_id, told in etas.items():
                self._routes.set_eta(order_id, route.route_id, told)
            for order_id, order in late.items():
                self._orders.announce(order, "order.delayed", now, **etas[order_id].fields())
            return Rewritten(
                retimed,
                _next(retimed),
                etas,
                (arriving, etas[arriving.order_id]) if arriving is not None else None,
            )
        raise ConcurrentUpdate(f"route {route.route_id} keeps changing; retry")

    def _route_done(
        self, route: PlannedRoute | None, now: str
    ) -> Callable[[Transaction], None] | None:
        """What the write serving a route's last stop adds: its completion's fact."""
        facts = self._facts
        if route is None or facts is None:
            return None
        return lambda tx: facts.route_done(tx, route, now)

    def _late(self, route: PlannedRoute) -> tuple[PlannedRoute, dict[str, Order]]:
        """The route with the stops that just became late beyond the threshold, and whose order
        still waits on it, as order id -> order (to tell once, for this promise); a late stop
        whose order has left it (cancelled, returned, re-planned) is marked so, told nothing.
        A retrieval's is the depot's own parcel: no customer to tell."""
        late: dict[str, Order] = {}
        stops = list(route.stops)
        for i, stop in enumerate(stops):
            if (
                stop.state != "pending"
                or stop.kind == "retrieval"
                or stop.delay_announced
                or parse_iso(stop.eta) - parse_iso(stop.planned_eta or stop.eta) <= DELAY_THRESHOLD
            ):
                continue
            order = self._orders.get(stop.order_id)
            state = _left_as(order, route.route_id)
            if state is not None or order is None:
                stops[i] = replace(stop, state=state or "dropped")
            else:
                late[stop.order_id] = order
        return replace(route, stops=tuple(stops)), late

    def _tell_arriving(self, done: Rewritten, now: str) -> None:
        """The next customer told the van is coming (what _rewrite marked), with the ETA their
        page and the API show."""
        if done.arriving is not None:
            order, told = done.arriving
            fresh = self._orders.get(order.order_id) or order
            if fresh.status is OrderStatus.OUT_FOR_DELIVERY:
                self._orders.announce(fresh, "order.arriving", now, **told.fields())

    def _skip_stale(self, route: PlannedRoute) -> tuple[PlannedRoute, Order | None]:
        """The route with the pending stops ahead whose order is no longer waiting on it marked
        (cancelled, dropped, or done when it was served but the route write was lost), up to
        the first whose order is; that order (None when no stop is left)."""
        stops = list(route.stops)
        for i, stop in enumerate(stops):
            if stop.state != "pending":
                continue
            order = self._orders.get(stop.order_id)
            state = _left_as(order, route.route_id) if stop.kind != "retrieval" else None
            if state is None:
                return replace(route, stops=tuple(stops)), order
            stops[i] = replace(stop, state=state)
        return replace(route, stops=tuple(stops)), None


@dataclass(frozen=True)
class Rewritten:
    """A route as stored by _rewrite: its next stop, what its orders were told (order id ->
    ETA and window), and the customer to tell the van is coming next."""

    route: PlannedRoute
    upcoming: dict[str, str] | None
    told: dict[str, Told]
    arriving: tuple[Order, Told] | None = None


def left_on(route: PlannedRoute, trip: int, at: str) -> PlannedRoute:
    """The route with the vehicle out on `trip` since `at` (a trip said twice keeps its time)."""
    trips = tuple(
        replace(t, depart_at=at) if t.trip == trip and route.on_trip < trip else t
        for t in route.trips
    )
    return replace(route, on_trip=max(route.on_trip, trip), trips=trips)


def departing_trip(route: PlannedRoute) -> int:
    """The trip a `departed` starts: the next one with stops left once the vehicle has been
    out on the current one (a stop of it served, or none left); else the current one again (a
    phone that says it twice before the first door)."""
    on = route.on_trip
    current = [s.state for s in route.stops if s.trip == on]
    been_out = on == 0 or "done" in current or "pending" not in current
    ahead = [s.trip for s in route.stops if s.state == "pending" and s.trip > on]
    return min(ahead) if been_out and ahead else max(on, 1)


def _after_failure(order: Order, at: str) -> tuple[Order, str]:
    """The failed-attempt policy: back to ready for the depot's next run, until the last
    attempt, after which the parcel goes back to the merchant."""
    failed = replace(order, failed_attempts=order.failed_attempts + 1)
    if failed.failed_attempts >= MAX_ATTEMPTS:
        return failed.moved_to(OrderStatus.RETURNED, at=at), "returning"
    again = failed.moved_to(OrderStatus.READY, at=at)
    return replace(again, route_id=None, eta=None, eta_from=None, eta_to=None), "rescheduled"


def _next(route: PlannedRoute) -> dict[str, str] | None:
    stop = next((s for s in route.stops if s.state == "pending"), None)
    return {"order_id": stop.order_id, "eta": stop.eta} if stop else None


def _finishes(before: PlannedRoute, after: PlannedRoute) -> bool:
    """This write serves the route's last stop: its completion counts now (once)."""
    pending = [s for s in before.stops if s.state == "pending"]
    return bool(pending) and not any(s.state == "pending" for s in after.stops)


def _seen_fix(route: PlannedRoute, event_id: str) -> bool:
    """A ping the route already holds (its last fix used, or one of those it ignored): a retry
    (an older one would be out of order, ignored for ETAs, anyway)."""
    held = [route.last_fix, *route.ignored_fixes]
    return any(fix is not None and fix.event_id == event_id for fix in held)


def _left_as(order: Order | None, route_id: str) -> str | None:
    """What a pending stop is once its order no longer waits on this route (None: it does)."""
    if order is None:
        return "dropped"
    if order.status is OrderStatus.CANCELLED:
        return "cancelled"
    if order.route_id != route_id:
        return "dropped"  # released, failed and rescheduled, re-planned onto another route
    if order.status in (OrderStatus.PLANNED, OrderStatus.OUT_FOR_DELIVERY):
        return None
    return "done"  # served (delivered, in a locker, returned) though the route never heard


def _recorded(event: RouteEvent) -> str:
    assert event.at is not None, "a recorded event has its time"
    return event.at


def _received(event: RouteEvent) -> str:
    assert event.received_at is not None, "a recorded event has its server time"
    return event.received_at


def _note(event: RouteEvent) -> str | None:
    parts = []
    if event.clock:
        parts.append(f"driver clock ({event.clock}): {event.claimed_at}")
    if event.reason:
        parts.append(f"reason: {event.reason}")
    for key, value in sorted((event.proof or {}).items()):
        parts.append(f"{key}: {value}")
    return "; ".join(parts) or None
