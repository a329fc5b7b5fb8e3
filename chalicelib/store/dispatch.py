"""Dispatch in the main table: the depot's one-run lock, runs with their routes and left-out
orders, order claims, and the per-order commit and release writes."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action

from chalicelib.domain.dispatch import (
    PLAN_WRITES,
    TRANSACTION_MAX_ITEMS,
    Fix,
    HeldDepot,
    PlannedRoute,
    ReadyOrder,
    RouteStop,
    RouteTrip,
    Run,
    RunStatus,
    run_id_of_route,
)
from chalicelib.domain.errors import ConcurrentUpdate, DepotBusy, DomainError
from chalicelib.domain.eta_windows import Told
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.order import Order, TimelineEvent
from chalicelib.domain.times import iso_z, parse_iso, utc_now
from chalicelib.store.mapping import fields_of, read_as
from chalicelib.store.models.base import MainItem
from chalicelib.store.models.dispatch import (
    DepotRunLockItem,
    DispatchRunItem,
    FixAttribute,
    LeftOutAttribute,
    RouteItem,
    RouteStartItem,
    RouteStopAttribute,
    RouteTripAttribute,
    UnassignedItem,
)
from chalicelib.store.models.orders import OrderItem, OutboxMessageItem
from chalicelib.store.orders import (
    depot_status_key,
    order_from_model,
    order_key,
    outbox_message,
    timeline_model,
)
from chalicelib.store.paging import Key, Page, read_page
from chalicelib.store.reads import get_one
from chalicelib.store.transaction import Transaction, condition_failed, failing_as

UNASSIGNED_PER_ITEM = 400  # left-out orders per item (an item holds at most 400 KB)
HELD = "DISPATCH#HELD"  # gsi1 partition of the depots' locks while a run holds them

PLANNED, READY = str(OrderStatus.PLANNED), str(OrderStatus.READY)
ATTENTION = str(OrderStatus.NEEDS_ATTENTION)
OUT = str(OrderStatus.OUT_FOR_DELIVERY)
RUNNING = str(RunStatus.RUNNING)


class _Changed(DomainError):
    """The order is no longer what this run claimed (amended, cancelled, released)."""


def _lock_key(depot_id: str) -> tuple[str, str]:
    return f"DEPOT#{depot_id}", "DISPATCH"


def _run_pk(run_id: str) -> str:
    return f"RUN#{run_id}"


def _route_key(run_id: str, route_id: str) -> tuple[str, str]:
    return _run_pk(run_id), f"ROUTE#{route_id}"


def _order(order_id: str) -> OrderItem:
    """The order's key alone: the target of an update that names what it changes."""
    return OrderItem(*order_key(order_id))


def _depot_routes(depot_id: str) -> str:
    return f"DEPOT#{depot_id}#ROUTES"


def _stop_fields(stop: RouteStop) -> dict[str, Any]:
    return fields_of(stop) | {
        "arriving_announced": stop.arriving_announced or None,
        "trip": stop.trip if stop.trip != 1 else None,
    }


def route_to_model(route: PlannedRoute) -> RouteItem:
    return RouteItem(
        *_route_key(route.run_id, route.route_id),
        route_id=route.route_id,
        run_id=route.run_id,
        depot_id=route.depot_id,
        vehicle_id=route.vehicle_id,
        profile=route.profile,
        start_at=route.start_at,
        depot_lat=route.depot_lat,
        depot_lng=route.depot_lng,
        distance_m=route.distance_m,
        duration_s=route.duration_s,
        # A flag rarely set is left out while unset (a route of thousands of stops is one item).
        stops=[RouteStopAttribute(**_stop_fields(s)) for s in route.stops],
        version=route.version,
        last_fix=FixAttribute(**fields_of(route.last_fix)) if route.last_fix else None,
        ignored_fixes=[FixAttribute(**fields_of(f)) for f in route.ignored_fixes] or None,
        breaks_at=list(route.breaks_at) or None,
        loaded=list(route.loaded) or None,
        not_loaded=list(route.not_loaded) or None,
        trips=[RouteTripAttribute(**fields_of(t)) for t in route.trips] or None,
        reload_s=route.reload_s or None,
        on_trip=route.on_trip or None,
    )


def _route_start(route: PlannedRoute) -> RouteStartItem:
    return RouteStartItem(
        _run_pk(route.run_id),
        f"STARTS#{route.route_id}",
        route_id=route.route_id,
        run_id=route.run_id,
        gsi1pk=_depot_routes(route.depot_id),
        gsi1sk=iso_z(parse_iso(route.start_at)),
    )


def route_from_model(item: RouteItem) -> PlannedRoute:
    return PlannedRoute(
        route_id=item.route_id,
        run_id=item.run_id,
        depot_id=item.depot_id,
        vehicle_id=item.vehicle_id,
        profile=item.profile,
        start_at=item.start_at,
        depot_lat=item.depot_lat,
        depot_lng=item.depot_lng,
        distance_m=item.distance_m,
        duration_s=item.duration_s,
        stops=tuple(
            RouteStop(
                **read_as(RouteStop, s)
                | {
                    "delay_announced": bool(s.delay_announced),
                    "arriving_announced": bool(s.arriving_announced),
                    "trip": int(s.trip or 1),
                }
            )
            for s in item.stops
        ),
        version=int(item.version or 1),
        last_fix=Fix(**read_as(Fix, item.last_fix)) if item.last_fix else None,
        ignored_fixes=tuple(Fix(**read_as(Fix, f)) for f in item.ignored_fixes or ()),
        breaks_at=tuple(item.breaks_at or ()),
        loaded=tuple(item.loaded or ()),
        not_loaded=tuple(item.not_loaded or ()),
        trips=tuple(RouteTrip(int(t.trip), t.depart_at, t.return_at) for t in item.trips or ()),
        reload_s=float(item.reload_s or 0.0),
        on_trip=int(item.on_trip or 0),
    )


def run_to_model(run: Run) -> DispatchRunItem:
    return DispatchRunItem(
        _run_pk(run.run_id),
        "RUN",
        run_id=run.run_id,
        depot_id=run.depot_id,
        status=str(run.status),
        trigger=run.trigger,
        started_at=run.started_at,
        finished_at=run.finished_at,
        error=run.error,
        figures=dict(run.figures),
        gsi1pk=depot_runs_key(run.depot_id),
        gsi1sk=f"{run.started_at}#{run.run_id}",
    )


def depot_runs_key(depot_id: str) -> str:
    """The index partition of a depot's runs (by start)."""
    return f"DEPOT#{depot_id}#RUNS"


def run_from_model(item: DispatchRunItem) -> Run:
    return Run(
        run_id=item.run_id,
        depot_id=item.depot_id,
        status=RunStatus(item.status),
        trigger=item.trigger,
        started_at=item.started_at,
        finished_at=item.finished_at,
        error=item.error,
        figures=item.figures.as_dict() if item.figures else {},
    )


class DispatchRepository:
    # -- the run and the depot's lock ------------------------------------------------------

    def begin(self, run: Run, *, now: int, lease_until: int) -> str | None:
        """Record `run` and make it the depot's active run, unless another run holds the depot
        (its lease not yet expired): then nothing is written. Returns the run holding the depot
        after the call (`run`'s own id when it started), or None when the holder finished
        between our write and our read (nothing written: try again)."""
        tx = Transaction()
        tx.put(
            DepotRunLockItem(
                *_lock_key(run.depot_id),
                active_run_id=run.run_id,
                lease_until=lease_until,
                gsi1pk=HELD,
                gsi1sk=run.depot_id,
            ),
            condition=DepotRunLockItem.active_run_id.does_not_exist()
            | (DepotRunLockItem.lease_until < now),
            on_fail=DepotBusy(f"depot {run.depot_id} has a dispatch run"),
        )
        tx.put(
            run_to_model(run),
            condition=DispatchRunItem.pk.does_not_exist(),
            on_fail=ConcurrentUpdate(f"run id {run.run_id} collision"),
        )
        try:
            tx.commit()
        except DepotBusy:
            lock = get_one(DepotRunLockItem, *_lock_key(run.depot_id))
            return lock.active_run_id if lock else None
        return run.run_id

    def end(self, depot_id: str, run_id: str) -> None:
        """Free the depot, if this run still holds it."""
        try:
            DepotRunLockItem(*_lock_key(depot_id)).update(
                actions=[
                    DepotRunLockItem.active_run_id.remove(),
                    DepotRunLockItem.lease_until.remove(),
                    DepotRunLockItem.gsi1pk.remove(),
                    DepotRunLockItem.gsi1sk.remove(),
                ],
                condition=DepotRunLockItem.active_run_id == run_id,
            )
        except UpdateError as exc:
            if not condition_failed(exc):
                raise

    def held_depots(self) -> list[HeldDepot]:
        """Every depot a run holds (its lock in the sparse index; the reaper checks each run
        itself, so the index's lag only delays it by a sweep)."""
        return [
            HeldDepot(item.gsi1sk or "", item.active_run_id, int(item.lease_until or 0))
            for item in DepotRunLockItem.held.query(HELD)
            if item.active_run_id and item.gsi1sk
        ]

    def active_run(self, depot_id: str, now: int) -> str | None:
        lock = get_one(DepotRunLockItem, *_lock_key(depot_id))
        if lock and lock.active_run_id and int(lock.lease_until or 0) >= now:
            return lock.active_run_id
        return None

    def settle(
        self,
        run_id: str,
        status: RunStatus,
        at: str,
        *,
        error: str | None = None,
        figures: dict[str, Any] | None = None,
    ) -> bool:
        """Move a running run to its final status; False if it had already settled."""
        actions: list[Action] = [
            DispatchRunItem.status.set(str(status)),
            DispatchRunItem.finished_at.set(at),
        ]
        if error is not None:
            actions.append(DispatchRunItem.error.set(error[:2000]))
        if figures is not None:
            actions.append(DispatchRunItem.figures.set(figures))
        try:
            DispatchRunItem(_run_pk(run_id), "RUN").update(
                actions=actions, condition=DispatchRunItem.status == RUNNING
            )
        except UpdateError as exc:
            if not condition_failed(exc):
                raise
            return False
        return True

    def record_figures(self, run_id: str, figures: dict[str, Any]) -> None:
        DispatchRunItem(_run_pk(run_id), "RUN").update(
            actions=[DispatchRunItem.figures.set(figures)]
        )

    def get_run(self, run_id: str) -> Run | None:
        item = get_one(DispatchRunItem, _run_pk(run_id), "RUN")
        return run_from_model(item) if item else None

    def runs_of_depot(self, depot_id: str, *, limit: int, start: Key | None) -> Page[Run]:
        """A page of the depot's runs, newest first."""
        page = read_page(
            DispatchRunItem,
            lambda **more: DispatchRunItem.by_depot.query(
                depot_runs_key(depot_id), scan_index_forward=False, **more
            ),
            limit=limit,
            start=start,
        )
        return Page([run_from_model(item) for item in page.items], page.last_key)

    def run_with_results(
        self, run_id: str
    ) -> tuple[Run, list[PlannedRoute], dict[str, str]] | None:
        """The run, its routes, and the orders it left out (order id -> reason, by id)."""
        run: Run | None = None
        routes: list[PlannedRoute] = []
        left_out: dict[str, str] = {}
        for item in MainItem.query(_run_pk(run_id), consistent_read=True):
            if isinstance(item, DispatchRunItem):
                run = run_from_model(item)
            elif isinstance(item, RouteItem):
                routes.append(route_from_model(item))
            elif isinstance(item, UnassignedItem):
                left_out |= {entry.order_id: entry.reason for entry in item.orders}
        return (run, routes, left_out) if run else None

    # -- claims ----------------------------------------------------------------------------

    def ready_orders(self, depot_id: str) -> list[ReadyOrder]:
        """The depot's ready orders and their claims (the index lags writes by a moment;
        every claim checks the order itself)."""
        return [
            ReadyOrder(
                item.order_id,
                item.claimed_by,
                int(item.claimed_until or 0),
                item.unassigned_reason,
            )
            for item in OrderItem.by_depot_status.query(depot_status_key(depot_id, READY))
        ]

    def claim(self, order_id: str, run_id: str, *, now: int, until: int) -> Order | None:
        """Take a ready order for `run_id` unless another run's claim on it is still live; the
        order as claimed (read with the write, so never an index's older copy), or None."""
        item = _order(order_id)
        try:
            item.update(
                actions=[OrderItem.claimed_by.set(run_id), OrderItem.claimed_until.set(until)],
                condition=(OrderItem.status == READY)
                & (
                    OrderItem.claimed_by.does_not_exist()
                    | (OrderItem.claimed_until < now)
                    | (OrderItem.claimed_by == run_id)
                ),
            )
        except UpdateError as exc:
            if not condition_failed(exc):
                raise
            return None
        return order_from_model(item)

    # -- commit ----------------------------------------------------------------------------

    def plan_order(
        self,
        order: Order,
        run_id: str,
        route_id: str,
        told: Told,
        at: str,
        also: Callable[[Transaction], None] | None = None,
    ) -> str:
        """Move one claimed order to planned on `route_id`, with its timeline event and the
        outbox message (and what `also` adds: its locker doors), in one transaction.
        "planned"; "already" when a retried commit finds it done; "changed" when the order
        changed since the claim (left alone); "too_large" when its writes would not fit in one
        transaction (nothing written: its locker doors are too many)."""
        tx = Transaction()
        if also is not None:
            also(tx)
            if len(tx) + PLAN_WRITES > TRANSACTION_MAX_ITEMS:
                return "too_large"
        tx.update(
            _order(order.order_id),
            [
                OrderItem.status.set(PLANNED),
                OrderItem.gsi2pk.set(depot_status_key(order.depot_id, PLANNED)),
                OrderItem.route_id.set(route_id),
                OrderItem.run_id.set(run_id),
                OrderItem.eta.set(told.eta),
                OrderItem.eta_from.set(told.start),
                OrderItem.eta_to.set(told.end),
                OrderItem.updated_at.set(at),
                OrderItem.version.add(1),
                OrderItem.claimed_by.remove(),
                OrderItem.claimed_until.remove(),
                OrderItem.unassigned_reason.remove(),
            ],
            condition=(OrderItem.claimed_by == run_id) & (OrderItem.status == READY),
            on_fail=_Changed(order.order_id),
        )
        event = TimelineEvent(at=at, status=OrderStatus.PLANNED, type="order.planned")
        tx.put(timeline_model(order.order_id, 0, event))
        tx.put(
            outbox_message(
                order.order_id, order.merchant_id, PLANNED, "order.planned", at, **told.fields()
            )
        )
        try:
            tx.commit()
        except _Changed:
            now = get_one(OrderItem, *order_key(order.order_id))
            done = now is not None and now.status == PLANNED and now.run_id == run_id
            return "already" if done else "changed"
        return "planned"

    def leave_unassigned(
        self,
        order_id: str,
        run_id: str,
        reason: str,
        announce: tuple[str, dict[str, Any]] | None = None,
    ) -> bool:
        """Give a claimed order back for the next run, with the reason this one left it out;
        `announce` is an outbox message sent with it unless the last run left it out for the
        same reason (the customer hears once)."""
        if announce is not None and self._leave_announcing(order_id, run_id, reason, announce):
            return True
        try:
            _order(order_id).update(
                actions=_unclaimed(run_id, reason), condition=OrderItem.claimed_by == run_id
            )
        except UpdateError as exc:
            if not condition_failed(exc):
                raise
            return False
        return True

    def _leave_announcing(
        self, order_id: str, run_id: str, reason: str, announce: tuple[str, dict[str, Any]]
    ) -> bool:
        order = get_one(OrderItem, *order_key(order_id))
        if order is None or order.claimed_by != run_id or order.unassigned_reason == reason:
            return False
        message_type, extra = announce
        at = utc_now()
        tx = Transaction()
        tx.update(
            _order(order_id),
            _unclaimed(run_id, reason),
            condition=(OrderItem.claimed_by == run_id)
            & (
                OrderItem.unassigned_reason.does_not_exist()
                | (OrderItem.unassigned_reason != reason)
            ),
            on_fail=_Changed(order_id),
        )
        tx.put(outbox_message(order_id, order.merchant_id, order.status, message_type, at, **extra))
        try:
            tx.commit()
        except _Changed:
            return False
        return True

    def needs_attention(self, order: Order, run_id: str, reason: str, at: str) -> bool:
        """A claimed order no run can plan leaves the ready set for a person: needs_attention
        with the reason, its timeline event and the merchant's `order.needs_attention`, in one
        transaction conditional on this run's claim (so it is written, and told, once)."""
        tx = Transaction()
        tx.update(
            _order(order.order_id),
            [
                OrderItem.status.set(ATTENTION),
                OrderItem.gsi2pk.set(depot_status_key(order.depot_id, ATTENTION)),
                OrderItem.attention_reason.set(reason),
                OrderItem.updated_at.set(at),
                OrderItem.version.add(1),
                *_unclaimed(run_id, reason),
            ],
            condition=(OrderItem.claimed_by == run_id) & (OrderItem.status == READY),
            on_fail=_Changed(order.order_id),
        )
        event = TimelineEvent(
            at=at, status=OrderStatus.NEEDS_ATTENTION, type="order.needs_attention", note=reason
        )
        tx.put(timeline_model(order.order_id, 0, event))
        tx.put(
            outbox_message(
                order.order_id,
                order.merchant_id,
                ATTENTION,
                "order.needs_attention",
                at,
                reason=reason,
            )
        )
        try:
            tx.commit()
        except _Changed:
            return False
        return True

    def put_route(self, route: PlannedRoute) -> None:
        """Write a route whole, and where it starts (a retried commit writes the same items
        again, not a second pair)."""
        route_to_model(route).save()
        _route_start(route).save()

    def put_unassigned(self, run_id: str, left_out: Mapping[str, str]) -> None:
        """The orders a run left out (order id -> reason), a page per item, in this order."""
        entries = list(left_out.items())
        for n, start in enumerate(range(0, len(entries), UNASSIGNED_PER_ITEM)):
            UnassignedItem(
                _run_pk(run_id),
                f"UNASSIGNED#{n:04d}",
                orders=[
                    LeftOutAttribute(order_id=order_id, reason=reason)
                    for order_id, reason in entries[start : start + UNASSIGNED_PER_ITEM]
                ],
            ).save()

    # -- release ---------------------------------------------------------------------------

    def release_order(self, order_id: str, run_id: str, reason: str, at: str) -> str:
        """Undo whatever `run_id` did to one order: a claim is dropped, a planned order goes
        back to ready, both keeping the reason; a planned order's customer, told "planned",
        is told it is being re-planned (`order.replanning`, in the same transaction as the
        move, which only this run's planned order can make: once per order and run).
        "released", or "untouched" if the run no longer holds it."""
        if self.leave_unassigned(order_id, run_id, reason):
            return "released"
        order = get_one(OrderItem, *order_key(order_id))
        if order is None or order.run_id != run_id or order.status != PLANNED:
            return "untouched"
        tx = Transaction()
        tx.update(
            _order(order_id),
            [
                OrderItem.status.set(READY),
                OrderItem.gsi2pk.set(depot_status_key(order.depot_id, READY)),
                OrderItem.unassigned_reason.set(reason),
                OrderItem.updated_at.set(at),
                OrderItem.version.add(1),
                OrderItem.route_id.remove(),
                OrderItem.eta.remove(),
                OrderItem.eta_from.remove(),
                OrderItem.eta_to.remove(),
            ],
            condition=(OrderItem.run_id == run_id) & (OrderItem.status == PLANNED),
            on_fail=_Changed(order_id),
        )
        event = TimelineEvent(
            at=at, status=OrderStatus.READY, type="order.released", note=reason[:500]
        )
        tx.put(timeline_model(order_id, 0, event))
        tx.put(outbox_message(order_id, order.merchant_id, READY, "order.replanning", at))
        try:
            tx.commit()
        except _Changed:
            return "untouched"
        return "released"

    def delete_routes(self, run_id: str) -> None:
        for model, prefix in ((RouteItem, "ROUTE#"), (RouteStartItem, "STARTS#")):
            for item in model.query(
                _run_pk(run_id),
                model.sk.startswith(prefix),
                consistent_read=True,
                attributes_to_get=["pk", "sk"],
            ):
                item.delete()

    # -- routes after commit ---------------------------------------------------------------

    def get_route(self, route_id: str) -> PlannedRoute | None:
        run_id = run_id_of_route(route_id)
        item = get_one(RouteItem, *_route_key(run_id, route_id)) if run_id else None
        return route_from_model(item) if item else None

    def routes_of_depot(self, depot_id: str, since: datetime) -> list[PlannedRoute]:
        """The depot's committed routes that started at or after `since` (the index is
        eventually consistent: a route committed a moment ago may be missing; runs of one depot
        follow each other, seconds apart at the least)."""
        keys = [
            _route_key(start.run_id, start.route_id)
            for start in RouteStartItem.by_depot.query(
                _depot_routes(depot_id), RouteStartItem.gsi1sk >= iso_z(since)
            )
        ]
        found = [route_from_model(item) for item in RouteItem.batch_get(keys)]
        return sorted(found, key=lambda r: (parse_iso(r.start_at), r.route_id))

    def orders(self, order_ids: list[str]) -> dict[str, Order]:
        """The orders of `order_ids` as they are now (those that exist), by id."""
        keys = [order_key(order_id) for order_id in dict.fromkeys(order_ids)]
        found = OrderItem.batch_get(keys, consistent_read=True) if keys else []
        return {item.order_id: order_from_model(item) for item in found}

    def replace_route(
        self,
        route: PlannedRoute,
        expected_version: int,
        then: Callable[[Transaction], None] | None = None,
    ) -> None:
        """Write the route if nobody changed it since it was read; `then` stages writes that
        stand or fall with it, after it (its completion's analytics facts)."""
        changed = ConcurrentUpdate(f"route {route.route_id} changed meanwhile")
        if then is not None:
            tx = Transaction()
            tx.put(
                route_to_model(route),
                condition=RouteItem.version == expected_version,
                on_fail=changed,
            )
            then(tx)
            tx.commit()
            return
        with failing_as(changed):
            route_to_model(route).save(condition=RouteItem.version == expected_version)

    def set_eta(self, order_id: str, route_id: str, told: Told) -> None:
        """A planned or out-for-delivery order's new ETA and its window (left alone if it is no
        longer on that route, or already delivered)."""
        try:
            _order(order_id).update(
                actions=[
                    OrderItem.eta.set(told.eta),
                    OrderItem.eta_from.set(told.start),
                    OrderItem.eta_to.set(told.end),
                ],
                condition=(OrderItem.route_id == route_id) & OrderItem.status.is_in(PLANNED, OUT),
            )
        except UpdateError as exc:
            if not condition_failed(exc):
                raise

    def tell_retimed(
        self, order_id: str, route_id: str, told: Told, at: str, *, key: str, step: timedelta
    ) -> bool:
        """A waiting order's new ETA, when it moved by more than `step` from the one it holds,
        written with `order.retimed` for its customer and merchant in one transaction; once per
        `key` (a retry writes the same message key, and its condition fails). False when the
        order is no longer waiting on that route, its ETA did not move, or it was told."""
        item = get_one(OrderItem, *order_key(order_id))
        if item is None or item.route_id != route_id or item.status not in (PLANNED, OUT):
            return False
        if item.eta and abs(parse_iso(item.eta) - parse_iso(told.eta)) <= step:
            return False
        message = outbox_message(
            order_id, item.merchant_id, item.status, "order.retimed", at, **told.fields()
        )
        message.sk = f"{at}#order.retimed#{key}"
        tx = Transaction()
        tx.put(
            message,
            condition=OutboxMessageItem.pk.does_not_exist(),
            on_fail=_Changed(order_id),
        )
        tx.update(
            _order(order_id),
            [
                OrderItem.eta.set(told.eta),
                OrderItem.eta_from.set(told.start),
                OrderItem.eta_to.set(told.end),
            ],
            condition=(OrderItem.route_id == route_id) & OrderItem.status.is_in(PLANNED, OUT),
            on_fail=_Changed(order_id),
        )
        try:
            tx.commit()
        except _Changed:
            return False
        return True


def route_item_bytes(route: PlannedRoute) -> int:
    """About what the route's item weighs in DynamoDB (names and values as sent: a little
    over the billed size), to keep it under the 400 KB an item may hold."""
    return len(json.dumps(route_to_model(route).serialize(), separators=(",", ":")).encode())


def _unclaimed(run_id: str, reason: str) -> list[Action]:
    """An order given back by `run_id`: unclaimed, with the reason it was left out."""
    return [
        OrderItem.unassigned_reason.set(reason),
        OrderItem.run_id.set(run_id),
        OrderItem.claimed_by.remove(),
        OrderItem.claimed_until.remove(),
    ]
