"""The Commit step: a run's plans become routes, planned orders with their ETAs and locker
doors (one transaction per order), and left-out orders back to ready with their reason."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from chalicelib.carriers.handoff import offer as carrier_offer
from chalicelib.dispatch import live_routes
from chalicelib.dispatch import problem as problems
from chalicelib.dispatch.concurrent_writes import in_parallel
from chalicelib.dispatch.eta import ORDER_ETA_STEP, changed_etas, published, told, without_stop
from chalicelib.dispatch.live_routes import LiveRoute, live_route_id
from chalicelib.dispatch.planned_routes import planned_routes
from chalicelib.dispatch.snapshots import RunSnapshots
from chalicelib.domain.dispatch import ITEM_MAX_BYTES, PlannedRoute, RouteStop
from chalicelib.domain.errors import ConcurrentUpdate
from chalicelib.domain.lockers import CompartmentState, allocate
from chalicelib.domain.order import Order
from chalicelib.domain.times import epoch_s, iso_z, parse_iso, utc_now
from chalicelib.store.dispatch import DispatchRepository, route_item_bytes
from chalicelib.store.lockers import CompartmentTaken, LockerRepository
from chalicelib.store.transaction import Transaction

RESERVATION_GRACE = timedelta(hours=4)  # doors are held until the planned ETA plus this
# A route is one item: its stops must stay under DynamoDB's 400 KB (with room for the live
# changes a route takes later: states, ETAs, delay flags).
ROUTE_MAX_BYTES = int(ITEM_MAX_BYTES * 0.8)
# The results of committing a stop that take it off its route, and the reason it is left out
# with (None: the order changed since the claim, and is no longer this run's to leave out).
_DROPPED = {"changed": None, "full": problems.LOCKER_FULL, "too_large": problems.TOO_MANY_PARCELS}


def _held_until(stop: RouteStop) -> int:
    """Until when a stop's locker doors are held (epoch seconds)."""
    return epoch_s(stop.eta) + int(RESERVATION_GRACE.total_seconds())


class Committer:
    def __init__(
        self,
        repo: DispatchRepository,
        snapshots: RunSnapshots,
        epoch: Callable[[], int],
        lockers: LockerRepository | None = None,
        alternative: Callable[[Order], dict[str, Any] | None] | None = None,
    ) -> None:
        self._repo = repo
        self._epoch = epoch  # now, in epoch seconds (doors lapse while a commit runs)
        self._snapshots = snapshots
        self._lockers = lockers
        # The nearest other locker with room for an order whose locker was full (offered to
        # the customer with home delivery).
        self._alternative = alternative

    def commit(self, run_id: str, depot_id: str, parts: list[int]) -> dict[str, Any]:
        """Routes, stops and ETAs; orders to planned, with their locker compartments reserved
        in the same transaction; the left-out back to ready with their reason. Safe to run
        again: what a previous attempt wrote is recognised, not doubled. The run's figures."""
        t0, left_out = self._snapshots.build(run_id)
        held = self._snapshots.held(run_id)
        live = {route.route_id: route for route in self._snapshots.live(run_id)}
        carried = {order_id for route in live.values() for order_id in route.carried}
        orders = {order.order_id: order for order in self._snapshots.orders(run_id)}
        retrievals = {p.order_id: p for p in self._snapshots.retrievals(run_id)}
        at = utc_now()
        moment = parse_iso(at)
        routes: list[PlannedRoute] = []
        solve_s, engines = 0.0, set()
        outcome = {
            "planned": 0,
            "already": 0,
            "changed": 0,
            "full": 0,
            "too_large": 0,
            "inserted": 0,
        }
        for part in sorted(parts):
            problem = self._snapshots.problem(run_id, part)
            plan = self._snapshots.plan(run_id, part)
            solve_s = max(solve_s, float(plan.stats.get("seconds", 0.0)))
            engines.add(plan.engine)
            left_out |= {
                u.stop_id: _waiting_for(u.reason, held)
                for u in plan.unassigned
                if u.stop_id not in carried  # another run's order: its route stays as it was
            }
            on_the_road = [r for r in plan.routes if live_route_id(r.vehicle_id) in live]
            plan = replace(plan, routes=[r for r in plan.routes if r not in on_the_road])
            for planned in planned_routes(
                replace(plan, routes=on_the_road), problem, depot_id, run_id, 0, t0
            ):
                opened = live[live_route_id(planned.vehicle_id) or ""]
                outcome["inserted"] += self._insert(
                    opened, planned, orders, run_id, t0, at, left_out, outcome
                )
            found = planned_routes(plan, problem, depot_id, run_id, len(routes), t0)
            found = [_fitting(route, left_out) for route in found]
            doors = self._doors(found, plan.locker_allocation, orders)
            for route in found:

                def commit_stop(
                    stop: RouteStop,
                    route: PlannedRoute = route,
                    doors: dict[str, list[str]] = doors,
                ) -> str:
                    if stop.kind == "retrieval":
                        assert self._lockers is not None and stop.locker_id is not None
                        until = _held_until(stop)
                        return self._lockers.plan_retrieval(
                            stop.locker_id, stop.order_id, run_id, route.route_id, until
                        )
                    order = orders[stop.order_id]
                    if stop.kind != "locker":
                        told_now = told(route, stop, moment)
                        return self._repo.plan_order(order, run_id, route.route_id, told_now, at)
                    if stop.order_id not in doors:
                        return "full"  # its doors were taken since the problem was built
                    return self._plan_at_locker(order, stop, route, doors[stop.order_id], at)

                kept = route
                for stop, result in zip(
                    route.stops, in_parallel(commit_stop, route.stops), strict=True
                ):
                    outcome[result] += 1
                    if result in _DROPPED:  # amended, cancelled; no door left; too many doors
                        kept = without_stop(kept, stop.order_id)
                        if (reason := _DROPPED[result]) is not None:
                            left_out[stop.order_id] = reason
                for order_id, moved in changed_etas(route, kept, moment).items():
                    self._repo.set_eta(order_id, route.route_id, moved)
                routes.append(replace(kept, version=1))
        for route in routes:
            if route.stops:
                self._repo.put_route(route)
        for order_id in [o for o in left_out if o in retrievals]:
            assert self._lockers is not None
            self._lockers.unclaim_retrieval(retrievals[order_id], run_id)
            del left_out[order_id]  # it waits for the next run, still flagged in its locker
        unassigned = dict(sorted(left_out.items()))
        in_parallel(
            lambda entry: self._leave_out(orders[entry[0]], run_id, entry[1]),
            list(unassigned.items()),
        )
        self._repo.put_unassigned(run_id, unassigned)
        used = [r for r in routes if r.stops]
        figures = {
            "orders": len(orders),
            "planned": outcome["planned"] + outcome["already"],
            "unassigned": len(unassigned),
            "changed_during_run": outcome["changed"],
            "locker_full_at_commit": outcome["full"],
            "needs_attention": sum(
                1
                for order_id, reason in unassigned.items()
                if order_id in orders and problems.needs_a_person(reason, orders[order_id])
            ),
            "inserted_into_live_routes": outcome["inserted"],
            "retrievals": sum(1 for r in routes for stop in r.stops if stop.kind == "retrieval"),
            "routes": len(used),
            "distance_km": round(sum(r.distance_m for r in used) / 1000, 1),
            "duration_h": round(sum(r.duration_s for r in used) / 3600, 2),
            "stops_per_route": round(sum(len(r.stops) for r in used) / len(used), 1) if used else 0,
            "max_stops_per_route": max((len(r.stops) for r in used), default=0),
            "solve_s": round(solve_s, 2),
            "engines": sorted(engines),
            "parts": len(parts),
        }
        self._repo.record_figures(run_id, figures)
        return figures

    def _insert(
        self,
        live: LiveRoute,
        planned: PlannedRoute,
        orders: dict[str, Order],
        run_id: str,
        t0: datetime,
        at: str,
        left_out: dict[str, str],
        outcome: dict[str, int],
    ) -> int:
        """The new orders the plan gave a route on the road planned onto it (one transaction
        each, as any), then the route's stop list after its depot visit rewritten (on its
        version: a driver's event meanwhile is kept, the write tried again on the fresh route).
        Customers whose ETA the re-plan moved are told once. The number of orders inserted."""
        new = [s for s in planned.stops if s.order_id not in live.carried]
        if not new:
            return 0  # it takes nothing: it goes on as it was
        if set(live.carried) - {s.order_id for s in planned.stops}:
            # The planner could not keep everything the van carries: it goes on as it was.
            left_out.update({s.order_id: problems.FLEET_BUSY for s in new})
            return 0
        moment = parse_iso(at)
        fresh = self._repo.get_route(live.route_id)
        if fresh is None:
            left_out.update({s.order_id: problems.FLEET_BUSY for s in new})
            return 0
        inserted: set[str] = set()
        for stop in new:
            order = orders[stop.order_id]
            told_now = told(fresh, stop, moment)
            result = self._repo.plan_order(order, run_id, live.route_id, told_now, at)
            outcome[result] += 1
            if result in ("planned", "already"):
                inserted.add(stop.order_id)
        for _ in range(5):
            if fresh is None:
                raise ConcurrentUpdate(f"route {live.route_id} went away while committed")
            if not inserted <= {s.order_id for s in fresh.stops}:
                after = live_routes.merged(fresh, live, planned, inserted)
                # The carried orders whose ETA moved far enough hold the new one once told.
                moved = frozenset(
                    s.order_id
                    for s in after.stops
                    if s.order_id in live.carried
                    and s.state == "pending"
                    and abs(parse_iso(s.eta) - parse_iso(s.order_eta)) > ORDER_ETA_STEP
                )
                after, _ = published(fresh, after, moment, moved | inserted)
                try:
                    self._repo.replace_route(after, expected_version=fresh.version)
                except ConcurrentUpdate:
                    fresh = self._repo.get_route(live.route_id)
                    continue
                fresh = after
            # Told once the route holds the new plan, each carried order whose ETA moved (by
            # what its order item holds); keyed by run and order, and a retried commit finds
            # the ETAs it wrote: nobody is told twice.
            for stop in fresh.stops:
                if stop.state == "pending" and stop.order_id in live.carried:
                    self._repo.tell_retimed(
                        stop.order_id,
                        live.route_id,
                        told(fresh, stop, moment),
                        iso_z(t0),
                        key=run_id.removeprefix("run_"),
                        step=ORDER_ETA_STEP,
                    )
            return len(inserted)
        raise ConcurrentUpdate(f"route {live.route_id} keeps changing; retry")

    def _doors(
        self,
        routes: list[PlannedRoute],
        allocation: dict[str, list[str]],
        orders: dict[str, Order],
    ) -> dict[str, list[str]]:
        """Concrete compartments for each planned locker stop: the sizes the planner allotted,
        taken from the doors free now (or already this order's, when a commit is retried)."""
        by_locker: dict[str, list[str]] = {}
        for route in routes:
            for stop in route.stops:
                if stop.kind == "locker" and stop.locker_id:
                    by_locker.setdefault(stop.locker_id, []).append(stop.order_id)
        if not by_locker or self._lockers is None:
            return {}
        now = self._epoch()
        doors: dict[str, list[str]] = {}
        for locker_id, order_ids in by_locker.items():
            compartments = self._lockers.compartments(locker_id)
            pool = [c for c in compartments if c.available(now) and c.order_id not in order_ids]
            for order_id in order_ids:
                order = orders[order_id]
                sizes = allocation.get(order_id) or [p.size or "M" for p in order.parcels]
                own = [
                    c
                    for c in compartments
                    if c.order_id == order_id and c.state is CompartmentState.RESERVED
                ]
                chosen = allocate(sizes, own) or allocate(sizes, own + pool)
                if chosen is None:
                    continue
                pool = [c for c in pool if c not in chosen]
                doors[order_id] = [c.compartment_id for c in chosen]
        return doors

    def _plan_at_locker(
        self,
        order: Order,
        stop: RouteStop,
        route: PlannedRoute,
        doors: list[str],
        at: str,
    ) -> str:
        """Plan a locker order with its compartments reserved in the same transaction: until
        the planned ETA plus a grace, after which a route that never came gives them up."""
        assert self._lockers is not None and stop.locker_id is not None
        lockers, locker_id = self._lockers, stop.locker_id
        until = _held_until(stop)
        now = self._epoch()

        def reserve(tx: Transaction) -> None:
            lockers.reserve(tx, locker_id, doors, stop.order_id, route.route_id, until, now)

        told_now = told(route, stop, parse_iso(at))
        try:
            return self._repo.plan_order(
                order, route.run_id, route.route_id, told_now, at, also=reserve
            )
        except CompartmentTaken:
            return "full"

    def _leave_out(self, order: Order, run_id: str, reason: str) -> bool:
        """Back to ready with the reason; a customer whose locker was full hears so once, with
        the nearest other locker that has room, and may choose it or home delivery. An order
        no later run can plan goes to needs_attention instead (problem.NEEDS_A_PERSON)."""
        if problems.needs_a_person(reason, order):
            return self._repo.needs_attention(order, run_id, reason, utc_now())
        message = None
        if reason == problems.LOCKER_FULL:
            extra: dict[str, Any] = {"locker": self._locker_view(order)}
            alternative = self._alternative(order) if self._alternative else None
            if alternative:
                extra["alternative"] = alternative
            message = ("order.locker_full", extra)
        message = message or carrier_offer(reason)  # the fleet was short: a carrier may take it
        return self._repo.leave_unassigned(order.order_id, run_id, reason, announce=message)

    def _locker_view(self, order: Order) -> dict[str, Any]:
        locker_id = order.delivery.locker_id
        found = self._lockers.get(locker_id) if self._lockers and locker_id else None
        return found[0].public() if found else {"locker_id": locker_id}


def _waiting_for(reason: str, held: frozenset[str]) -> str:
    """Why the planner left a stop out, as the order is told: when routes already out held
    vehicles, a stop short of time or capacity waits for them (fleet_busy)."""
    return problems.FLEET_BUSY if held and reason in problems.FLEET_SHORT else reason


def _fitting(route: PlannedRoute, left_out: dict[str, str]) -> PlannedRoute:
    """The route cut to what its item can hold: the last stops are left out for the next run
    (route_too_long). Only a route of a few thousand stops is cut: a stop is about 200 bytes."""
    while route.stops and route_item_bytes(route) > ROUTE_MAX_BYTES:
        keep = max(1, len(route.stops) * 9 // 10) if len(route.stops) > 1 else 0
        for stop in route.stops[keep:]:
            left_out[stop.order_id] = problems.ROUTE_TOO_LONG
        route = replace(route, stops=route.stops[:keep])
    return route
