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
from chalicelib.domain.order import Order, utc_now
from chalicelib.routing.model import Plan, Problem
from chalicelib.store.artifacts import ArtifactMissing, Artifacts, orders_key, plan_key, problem_key
from chalicelib.store.dispatch import DispatchRepository
from chalicelib.store.orders import order_from_item, order_to_item

logger = Logger(child=True)

# A run holds its depot and its orders for at most this long (the state machine times out at
# one hour): a run that vanished without releasing them gives them up when the lease ends.
LEASE_S = 2 * 3600
WRITERS = 16  # concurrent per-order writes in a task (the SDK's pool holds 50 connections)


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
    ) -> None:
        self._repo = repo
        self._artifacts = artifacts
        self._accounts = accounts
        self._executions = executions
        self._tokens = tokens
        self._clock = clock

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
        self._artifacts.put_json(orders_key(run_id), snapshot)
        return {**_run_fields(event), "claimed": len(claimed)}

    def build(self, event: dict[str, Any]) -> dict[str, Any]:
        """The routing problem(s) in S3, one per part; the state machine maps over the parts."""
        run_id, depot_id = event["run_id"], event["depot_id"]
        depot = self._accounts.depot(depot_id)
        policy = DispatchPolicy.from_dict(depot.dispatch)
        orders = [order_from_item(i) for i in self._artifacts.get_json(orders_key(run_id))]
        t0 = self._clock().replace(microsecond=0)
        built = problems.build(depot, self._accounts.fleet(depot_id), orders, policy, t0)
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
        return {**_run_fields(event), "claimed": len(orders), "t0": _iso(t0), "parts": parts}

    def commit(self, event: dict[str, Any]) -> dict[str, Any]:
        """Routes, stops and ETAs; orders to planned; the left-out back to ready with their
        reason. Safe to run again: what a previous attempt wrote is recognised, not doubled."""
        run_id, depot_id = event["run_id"], event["depot_id"]
        built = self._artifacts.get_json(f"runs/{run_id}/build.json")
        t0 = _parse(built["t0"])
        orders = {i["order_id"]: i for i in self._artifacts.get_json(orders_key(run_id))}
        at = utc_now()
        routes: list[PlannedRoute] = []
        left_out: dict[str, str] = dict(built["left_out"])
        solve_s, engines = 0.0, set()
        outcome = {"planned": 0, "already": 0, "changed": 0}
        for solved in sorted(event["plans"], key=lambda p: p["part"]):
            problem = Problem.from_dict(
                self._artifacts.get_json(problem_key(run_id, solved["part"]))
            )
            plan = Plan.from_dict(self._artifacts.get_json(plan_key(run_id, solved["part"])))
            solve_s = max(solve_s, float(plan.stats.get("seconds", 0.0)))
            engines.add(plan.engine)
            left_out |= {u.stop_id: u.reason for u in plan.unassigned}
            for route in _routes(plan, problem, depot_id, run_id, len(routes), t0):

                def commit_stop(stop: RouteStop, route: PlannedRoute = route) -> str:
                    order = orders[stop.order_id]
                    return self._repo.plan_order(order, run_id, route.route_id, stop.eta, at)

                kept = route
                for stop, result in zip(
                    route.stops, _parallel(commit_stop, route.stops), strict=True
                ):
                    outcome[result] += 1
                    if result == "changed":  # amended or cancelled since the claim
                        kept = without_stop(kept, stop.order_id)
                for order_id, eta in changed_etas(route, kept).items():
                    self._repo.set_eta(order_id, route.route_id, eta)
                routes.append(replace(kept, version=1))
        for route in routes:
            if route.stops:
                self._repo.put_route(route)
        unassigned = [{"order_id": o, "reason": r} for o, r in sorted(left_out.items())]
        _parallel(
            lambda e: self._repo.leave_unassigned(e["order_id"], run_id, e["reason"]), unassigned
        )
        self._repo.put_unassigned(run_id, unassigned)
        used = [r for r in routes if r.stops]
        figures = {
            "orders": len(orders),
            "planned": outcome["planned"] + outcome["already"],
            "unassigned": len(unassigned),
            "changed_during_run": outcome["changed"],
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
        released = outcomes.count("released")
        self._repo.delete_routes(run_id)
        self._repo.settle(run_id, RunStatus.FAILED, at, error=cause)
        self._repo.end(depot_id, run_id)
        logger.warning(
            "dispatch run failed; orders released",
            extra={"run_id": run_id, "released": released, "error": cause},
        )
        return {**_run_fields(event), "status": str(RunStatus.FAILED), "released": released}

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
        """A planned order left (cancelled): its stop goes, the later stops' ETAs move up."""
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
                        kind="locker" if stop.kind == "locker" else "delivery",
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
