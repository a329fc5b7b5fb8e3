"""The dispatch workflow's steps (each a Step Functions task: small, idempotent, re-runnable),
starting a run, and the run's results as the operator sees them."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from chalicelib.accounts.service import AccountService
from chalicelib.dispatch import problem as problems
from chalicelib.dispatch.driver_tokens import DriverTokens
from chalicelib.dispatch.eta import changed_etas, without_stop
from chalicelib.dispatch.workflow import MAX_SOLVER_TIME_LIMIT_S
from chalicelib.domain.dispatch import (
    DispatchPolicy,
    PlannedRoute,
    RouteStop,
    Run,
    RunStatus,
    new_run_id,
    route_id_for,
)
from chalicelib.domain.errors import ConcurrentUpdate, DispatchRunNotFound
from chalicelib.domain.lockers import CompartmentState, LockerParcel, allocate, free_by_size
from chalicelib.domain.order import DeliveryType, Order, utc_now
from chalicelib.routing.model import Plan, Problem
from chalicelib.store.artifacts import (
    ArtifactMissing,
    Artifacts,
    orders_key,
    plan_key,
    problem_key,
    retrievals_key,
)
from chalicelib.store.dispatch import DispatchRepository
from chalicelib.store.dynamo import Transaction
from chalicelib.store.legacy_items import order_from_item, order_to_item
from chalicelib.store.lockers import CompartmentTaken, LockerRepository

logger = Logger(child=True)

# A run holds its depot and its orders for at most this long (the state machine times out at
# one hour): a run that vanished without releasing them gives them up when the lease ends.
LEASE_S = 2 * 3600
WRITERS = 16  # concurrent per-order writes in a task (the SDK's pool holds 50 connections)
RESERVATION_GRACE = timedelta(hours=4)  # doors are held until the planned ETA plus this


class Executions(Protocol):
    def start(self, name: str, payload: dict[str, Any]) -> None: ...


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


class DispatchService:
    def __init__(
        self,
        repo: DispatchRepository,
        artifacts: Artifacts,
        accounts: AccountService,
        executions: Executions,
        tokens: DriverTokens,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        lockers: LockerRepository | None = None,
        alternative: Callable[[Order], dict[str, Any] | None] | None = None,
    ) -> None:
        self._repo = repo
        self._artifacts = artifacts
        self._accounts = accounts
        self._executions = executions
        self._tokens = tokens
        self._clock = clock
        self._lockers = lockers
        # The nearest other locker with room for an order whose locker was full (offered to
        # the customer with home delivery).
        self._alternative = alternative

    def _epoch(self) -> int:
        return int(self._clock().timestamp())

    # -- starting ----------------------------------------------------------------------------

    def start(self, depot_id: str, trigger: str = "manual") -> tuple[str, bool]:
        """Start a run for the depot now: (run id, True); or, when one is already running,
        (its id, False). The execution is named by the run id."""
        self._accounts.depot(depot_id)
        for _ in range(3):
            run = Run(new_run_id(), depot_id, RunStatus.RUNNING, trigger, _iso(self._clock()))
            now = self._epoch()
            holder = self._repo.begin(run, now=now, lease_until=now + LEASE_S)
            if holder == run.run_id:
                break
            if holder is not None:
                return holder, False
        else:  # the depot's lock kept changing hands under us
            raise ConcurrentUpdate(f"depot {depot_id} is being dispatched; retry")
        try:
            self._executions.start(
                run.run_id, {"run_id": run.run_id, "depot_id": depot_id, "trigger": trigger}
            )
        except Exception as exc:
            self._repo.settle(run.run_id, RunStatus.FAILED, utc_now(), error=repr(exc))
            self._repo.end(depot_id, run.run_id)
            raise
        logger.info("dispatch run started", extra={"run_id": run.run_id, "depot_id": depot_id})
        return run.run_id, True

    def tick(self, depot_id: str, trigger: str) -> dict[str, Any]:
        """A scheduled trigger: a wave always starts a run; a rolling window only once enough
        orders wait."""
        policy = DispatchPolicy.from_dict(self._accounts.depot(depot_id).dispatch)
        if trigger == "rolling":
            waiting = sum(
                1
                for item in self._repo.ready_orders(depot_id)
                if int(item.get("claimed_until", 0)) < self._epoch()
            )
            if waiting < policy.rolling_min_orders:
                return {"depot_id": depot_id, "started": False, "waiting": waiting}
        run_id, started = self.start(depot_id, trigger)
        return {"depot_id": depot_id, "run_id": run_id, "started": started}

    # -- the state machine's steps -----------------------------------------------------------

    def collect(self, event: dict[str, Any]) -> dict[str, Any]:
        """Claim the depot's ready orders for this run; snapshot them for the later steps."""
        run_id, depot_id = event["run_id"], event["depot_id"]
        now = self._epoch()

        def take(item: dict[str, Any]) -> dict[str, Any] | None:
            # A retried Collect claims its own orders again (the condition lets it).
            return self._repo.claim(item["order_id"], run_id, now=now, until=now + LEASE_S)

        ready = self._repo.ready_orders(depot_id)
        claimed = [item for item in _parallel(take, ready) if item is not None]
        snapshot = [order_to_item(order_from_item(item)) for item in claimed]
        retrievals = []
        if self._lockers is not None:
            lockers = self._lockers
            expired = lockers.awaiting_retrieval(depot_id)
            retrievals = [
                p.to_dict()
                for p in _parallel(
                    lambda p: lockers.claim_retrieval(p, run_id, now=now, until=now + LEASE_S),
                    expired,
                )
                if p is not None
            ]
        self._artifacts.put_json(retrievals_key(run_id), retrievals)
        self._artifacts.put_json(orders_key(run_id), snapshot)
        return {**_run_fields(event), "claimed": len(claimed) + len(retrievals)}

    def build(self, event: dict[str, Any]) -> dict[str, Any]:
        """The routing problem(s) in S3, one per part; the state machine maps over the parts."""
        run_id, depot_id = event["run_id"], event["depot_id"]
        depot = self._accounts.depot(depot_id)
        policy = DispatchPolicy.from_dict(depot.dispatch)
        orders = [order_from_item(i) for i in self._artifacts.get_json(orders_key(run_id))]
        retrievals = [LockerParcel.from_dict(i) for i in self._retrievals(run_id)]
        t0 = self._clock().replace(microsecond=0)
        built = problems.build(
            depot,
            self._accounts.fleet(depot_id),
            orders,
            policy,
            t0,
            lockers=self._rooms(depot_id),
            retrievals=retrievals,
        )
        parts = []
        for n, part in enumerate(built.parts):
            time_limit = solver_time_limit(policy, len(part.stops))
            key = self._artifacts.put_json(problem_key(run_id, n), part.to_dict())
            parts.append(
                {"run_id": run_id, "part": n, "problem_key": key, "time_limit_s": time_limit}
            )
        self._artifacts.put_json(
            f"runs/{run_id}/build.json", {"t0": _iso(t0), "left_out": built.left_out}
        )
        claimed = len(orders) + len(retrievals)
        return {**_run_fields(event), "claimed": claimed, "t0": _iso(t0), "parts": parts}

    def _retrievals(self, run_id: str) -> list[dict[str, Any]]:
        try:
            return list(self._artifacts.get_json(retrievals_key(run_id)))
        except ArtifactMissing:
            return []  # a run collected before lockers existed

    def _rooms(self, depot_id: str) -> list[problems.LockerRoom]:
        """The depot's lockers and their free compartments by size, as of now."""
        if self._lockers is None:
            return []
        now = self._epoch()
        return [
            problems.LockerRoom(
                locker, free_by_size(self._lockers.compartments(locker.locker_id), now)
            )
            for locker in self._lockers.for_depot(depot_id)
        ]

    def commit(self, event: dict[str, Any]) -> dict[str, Any]:
        """Routes, stops and ETAs; orders to planned, with their locker compartments reserved
        in the same transaction; the left-out back to ready with their reason. Safe to run
        again: what a previous attempt wrote is recognised, not doubled."""
        run_id, depot_id = event["run_id"], event["depot_id"]
        built = self._artifacts.get_json(f"runs/{run_id}/build.json")
        t0 = _parse(built["t0"])
        orders = {i["order_id"]: i for i in self._artifacts.get_json(orders_key(run_id))}
        retrievals = {i["order_id"]: LockerParcel.from_dict(i) for i in self._retrievals(run_id)}
        at = utc_now()
        routes: list[PlannedRoute] = []
        left_out: dict[str, str] = dict(built["left_out"])
        solve_s, engines = 0.0, set()
        outcome = {"planned": 0, "already": 0, "changed": 0, "full": 0}
        for solved in sorted(event["plans"], key=lambda p: p["part"]):
            problem = Problem.from_dict(
                self._artifacts.get_json(problem_key(run_id, solved["part"]))
            )
            plan = Plan.from_dict(self._artifacts.get_json(plan_key(run_id, solved["part"])))
            solve_s = max(solve_s, float(plan.stats.get("seconds", 0.0)))
            engines.add(plan.engine)
            left_out |= {u.stop_id: u.reason for u in plan.unassigned}
            found = _routes(plan, problem, depot_id, run_id, len(routes), t0)
            doors = self._doors(found, plan.locker_allocation, orders)
            for route in found:

                def commit_stop(
                    stop: RouteStop,
                    route: PlannedRoute = route,
                    doors: dict[str, list[str]] = doors,
                ) -> str:
                    if stop.kind == "retrieval":
                        assert self._lockers is not None and stop.locker_id is not None
                        until = int((_parse(stop.eta) + RESERVATION_GRACE).timestamp())
                        return self._lockers.plan_retrieval(
                            stop.locker_id, stop.order_id, run_id, route.route_id, until
                        )
                    order = orders[stop.order_id]
                    if stop.kind != "locker":
                        return self._repo.plan_order(order, run_id, route.route_id, stop.eta, at)
                    if stop.order_id not in doors:
                        return "full"  # its doors were taken since the problem was built
                    return self._plan_at_locker(order, stop, route, doors[stop.order_id], at)

                kept = route
                for stop, result in zip(
                    route.stops, _parallel(commit_stop, route.stops), strict=True
                ):
                    outcome[result] += 1
                    if result in ("changed", "full"):  # amended, cancelled; or no door left
                        kept = without_stop(kept, stop.order_id)
                    if result == "full":
                        left_out[stop.order_id] = problems.LOCKER_FULL
                for order_id, eta in changed_etas(route, kept).items():
                    self._repo.set_eta(order_id, route.route_id, eta)
                routes.append(replace(kept, version=1))
        for route in routes:
            if route.stops:
                self._repo.put_route(route)
        for order_id in [o for o in left_out if o in retrievals]:
            assert self._lockers is not None
            self._lockers.unclaim_retrieval(retrievals[order_id], run_id)
            del left_out[order_id]  # it waits for the next run, still flagged in its locker
        unassigned = [{"order_id": o, "reason": r} for o, r in sorted(left_out.items())]
        _parallel(lambda e: self._leave_out(orders[e["order_id"]], run_id, e["reason"]), unassigned)
        self._repo.put_unassigned(run_id, unassigned)
        used = [r for r in routes if r.stops]
        figures = {
            "orders": len(orders),
            "planned": outcome["planned"] + outcome["already"],
            "unassigned": len(unassigned),
            "changed_during_run": outcome["changed"],
            "locker_full_at_commit": outcome["full"],
            "retrievals": sum(1 for r in routes for stop in r.stops if stop.kind == "retrieval"),
            "routes": len(used),
            "distance_km": round(sum(r.distance_m for r in used) / 1000, 1),
            "duration_h": round(sum(r.duration_s for r in used) / 3600, 2),
            "stops_per_route": round(sum(len(r.stops) for r in used) / len(used), 1) if used else 0,
            "max_stops_per_route": max((len(r.stops) for r in used), default=0),
            "solve_s": round(solve_s, 2),
            "engines": sorted(engines),
            "parts": len(event["plans"]),
        }
        self._repo.record_figures(run_id, figures)
        return {**_run_fields(event), "figures": figures}

    def _doors(
        self,
        routes: list[PlannedRoute],
        allocation: dict[str, list[str]],
        orders: dict[str, dict[str, Any]],
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
                order = order_from_item(orders[order_id])
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
        order: dict[str, Any],
        stop: RouteStop,
        route: PlannedRoute,
        doors: list[str],
        at: str,
    ) -> str:
        """Plan a locker order with its compartments reserved in the same transaction: until
        the planned ETA plus a grace, after which a route that never came gives them up."""
        assert self._lockers is not None and stop.locker_id is not None
        lockers, locker_id = self._lockers, stop.locker_id
        until = int((_parse(stop.eta) + RESERVATION_GRACE).timestamp())
        now = self._epoch()

        def reserve(tx: Transaction) -> None:
            lockers.reserve(tx, locker_id, doors, stop.order_id, route.route_id, until, now)

        try:
            return self._repo.plan_order(
                order, route.run_id, route.route_id, stop.eta, at, also=reserve
            )
        except CompartmentTaken:
            return "full"

    def _leave_out(self, order: dict[str, Any], run_id: str, reason: str) -> bool:
        """Back to ready with the reason; a customer whose locker was full hears so once, with
        the nearest other locker that has room, and may choose it or home delivery."""
        message = None
        if reason == problems.LOCKER_FULL:
            extra: dict[str, Any] = {"locker": self._locker_view(order)}
            alternative = self._alternative(order_from_item(order)) if self._alternative else None
            if alternative:
                extra["alternative"] = alternative
            message = ("order.locker_full", extra)
        return self._repo.leave_unassigned(order["order_id"], run_id, reason, announce=message)

    def _locker_view(self, order: dict[str, Any]) -> dict[str, Any]:
        locker_id = (order.get("delivery") or {}).get("locker_id")
        found = self._lockers.get(locker_id) if self._lockers and locker_id else None
        return found[0].public() if found else {"locker_id": locker_id}

    def finish(self, event: dict[str, Any]) -> dict[str, Any]:
        run_id, depot_id = event["run_id"], event["depot_id"]
        figures = event.get("figures") or {"orders": 0, "planned": 0, "routes": 0}
        self._repo.settle(run_id, RunStatus.SUCCEEDED, utc_now(), figures=figures)
        self._repo.end(depot_id, run_id)
        return {**_run_fields(event), "status": str(RunStatus.SUCCEEDED)}

    def release(self, event: dict[str, Any]) -> dict[str, Any]:
        """After a failure: every order the run claimed or planned is ready again, with the
        reason; its routes are withdrawn; the run is failed and the depot free."""
        run_id, depot_id = event["run_id"], event["depot_id"]
        error = event.get("error") or {}
        cause = f"{error.get('Error', 'error')}: {str(error.get('Cause', ''))[:500]}"
        run = self._repo.get_run(run_id)
        if run is not None and run.status is RunStatus.SUCCEEDED:
            self._repo.end(depot_id, run_id)  # it had finished; only the lock was left
            return {**_run_fields(event), "status": str(run.status), "released": 0}
        reason = f"dispatch run {run_id} failed ({error.get('Error', 'error')})"
        at = utc_now()
        ids = {
            item["order_id"]
            for item in self._repo.ready_orders(depot_id)
            if item.get("claimed_by") == run_id
        }
        try:
            ids |= {i["order_id"] for i in self._artifacts.get_json(orders_key(run_id))}
        except ArtifactMissing:
            pass  # the run failed before its snapshot: the claims found above are all it took
        outcomes = _parallel(
            lambda order_id: self._repo.release_order(order_id, run_id, reason, at), sorted(ids)
        )
        released = outcomes.count("released") + self._release_lockers(run_id)
        self._repo.delete_routes(run_id)
        self._repo.settle(run_id, RunStatus.FAILED, at, error=cause)
        self._repo.end(depot_id, run_id)
        logger.warning(
            "dispatch run failed; orders released",
            extra={"run_id": run_id, "released": released, "error": cause},
        )
        return {**_run_fields(event), "status": str(RunStatus.FAILED), "released": released}

    def _release_lockers(self, run_id: str) -> int:
        """A failed run's locker doors held for its orders, and its retrievals, given back."""
        if self._lockers is None:
            return 0
        lockers = self._lockers
        try:
            snapshot = [order_from_item(i) for i in self._artifacts.get_json(orders_key(run_id))]
        except ArtifactMissing:
            snapshot = []
        for order in snapshot:
            if order.delivery.type is DeliveryType.LOCKER and order.delivery.locker_id:
                lockers.release_reservations(
                    order.delivery.locker_id,
                    order.order_id,
                    route_prefix=route_id_for(run_id, 0)[:-3],
                )
        outcomes = _parallel(
            lambda item: lockers.unclaim_retrieval(LockerParcel.from_dict(item), run_id),
            self._retrievals(run_id),
        )
        return outcomes.count("released")

    # -- reading -----------------------------------------------------------------------------

    def run_view(self, run_id: str) -> dict[str, Any]:
        found = self._repo.run_with_results(run_id)
        if found is None:
            raise DispatchRunNotFound(f"no dispatch run {run_id}")
        run, routes, unassigned = found
        view: dict[str, Any] = {
            "run_id": run.run_id,
            "depot_id": run.depot_id,
            "status": str(run.status),
            "trigger": run.trigger,
            "started_at": run.started_at,
            "routes": [
                {
                    "route_id": r.route_id,
                    "vehicle_id": r.vehicle_id,
                    "driver_token": self._tokens.token(r.route_id),
                    "start_at": r.start_at,
                    "distance_m": round(r.distance_m),
                    "duration_s": round(r.duration_s),
                    "stops": [_stop_view(s) for s in r.stops],
                }
                for r in sorted(routes, key=lambda r: r.route_id)
            ],
            "unassigned": unassigned,
            "figures": run.figures,
        }
        if run.finished_at:
            view["finished_at"] = run.finished_at
        if run.error:
            view["error"] = run.error
        return view

    def remove_from_route(self, order: Order) -> None:
        """A planned order left (cancelled): its stop goes, the later stops' ETAs move up, and
        the locker doors held for it are free again."""
        if self._lockers is not None and order.delivery.locker_id:
            self._lockers.release_reservations(order.delivery.locker_id, order.order_id)
        if not order.route_id:
            return
        for _ in range(3):
            route = self._repo.get_route(order.route_id)
            if route is None:
                return
            changed = without_stop(route, order.order_id)
            if changed is route:
                return
            try:
                self._repo.replace_route(changed, expected_version=route.version)
            except ConcurrentUpdate:
                continue
            for order_id, eta in changed_etas(route, changed).items():
                self._repo.set_eta(order_id, route.route_id, eta)
            return
        raise ConcurrentUpdate(f"route {order.route_id} keeps changing; retry")


# Planner stop kinds as route stops: a pickup is an expired parcel taken back from a locker.
STOP_KINDS = {"delivery": "delivery", "locker": "locker", "pickup": "retrieval"}


def _parallel[T, R](work: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """`work` over `items` on a few threads (one conditional write each; DynamoDB takes them
    side by side), results in the items' order; the first failure is raised."""
    if len(items) <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(WRITERS, len(items))) as pool:
        return list(pool.map(work, items))


def solver_time_limit(policy: DispatchPolicy, stops: int) -> int:
    """The policy's limit, but a small batch gets less: the engines search until their time is
    up, and a few stops are solved well in seconds (a second per 10 stops, at least 5)."""
    return min(policy.time_limit_s, MAX_SOLVER_TIME_LIMIT_S, max(5, math.ceil(stops / 10)))


def _run_fields(event: dict[str, Any]) -> dict[str, Any]:
    return {k: event[k] for k in ("run_id", "depot_id", "trigger") if k in event}


def _stop_view(stop: RouteStop) -> dict[str, Any]:
    view = {"order_id": stop.order_id, "eta": stop.eta, "kind": stop.kind}
    if stop.locker_id:
        view["locker_id"] = stop.locker_id
    return view


def _routes(
    plan: Plan, problem: Problem, depot_id: str, run_id: str, first: int, t0: datetime
) -> list[PlannedRoute]:
    """The plan's routes as committed routes, ETAs as times (the start of service)."""
    stops = {s.id: s for s in problem.stops}
    vehicles = {v.id: v for v in problem.vehicles}
    depot = problem.depots[0].location
    found = []
    for n, route in enumerate(r for r in plan.routes if r.stop_ids()):
        planned: list[RouteStop] = []
        for visit in route.visits:
            if visit.kind == "drop":
                continue
            for k, stop_id in enumerate(visit.stop_ids):
                stop = stops[stop_id]
                last = k == len(visit.stop_ids) - 1
                planned.append(
                    RouteStop(
                        order_id=stop_id,
                        kind=STOP_KINDS.get(stop.kind, "delivery"),
                        eta=_iso(t0 + timedelta(seconds=round(visit.start))),
                        planned_eta=_iso(t0 + timedelta(seconds=round(visit.start))),
                        lat=stop.location.lat,
                        lng=stop.location.lon,
                        service_s=visit.departure - visit.start if last else 0.0,
                        earliest=_iso(t0 + timedelta(seconds=stop.windows[0].start))
                        if stop.windows
                        else None,
                        locker_id=stop.locker_id,
                    )
                )
        found.append(
            PlannedRoute(
                route_id=route_id_for(run_id, first + n),
                run_id=run_id,
                depot_id=depot_id,
                vehicle_id=route.vehicle_id,
                profile=vehicles[route.vehicle_id].profile.name,
                start_at=_iso(t0 + timedelta(seconds=round(route.start))),
                depot_lat=depot.lat,
                depot_lng=depot.lon,
                distance_m=route.distance_m,
                duration_s=route.duration_s,
                stops=tuple(planned),
            )
        )
    return found
