"""Dispatch runs: starting one, the Step Functions tasks' entry points (Collect and Commit do
their work in collect.py and commit.py), releasing a failed run, and its results as shown."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from chalicelib.accounts.service import AccountService
from chalicelib.dispatch import live_routes
from chalicelib.dispatch import problem as problems
from chalicelib.dispatch.collect import LEASE_S, Collector
from chalicelib.dispatch.commit import Committer
from chalicelib.dispatch.concurrent_writes import in_parallel
from chalicelib.dispatch.driver_tokens import DriverTokens
from chalicelib.dispatch.eta import published, without_stop
from chalicelib.dispatch.free_time import free_time
from chalicelib.dispatch.live_routes import Opened
from chalicelib.dispatch.snapshots import RunSnapshots
from chalicelib.dispatch.workflow import MAX_SOLVER_TIME_LIMIT_S
from chalicelib.domain.dispatch import (
    DispatchPolicy,
    PlannedRoute,
    Run,
    RunStatus,
    new_run_id,
    route_id_for,
)
from chalicelib.domain.errors import ConcurrentUpdate, DispatchRunNotFound
from chalicelib.domain.lockers import free_by_size
from chalicelib.domain.order import DeliveryType, Order
from chalicelib.domain.times import iso_z, utc_now
from chalicelib.store.artifacts import ArtifactMissing, Artifacts
from chalicelib.store.dispatch import DispatchRepository
from chalicelib.store.lockers import LockerRepository
from chalicelib.store.paging import Key, Page

logger = Logger(child=True)

# Routes of earlier runs that started this long before a run may still hold their vehicle (a
# route is a shift at most; a day covers the longest, late ones included).
COMMITTED_LOOKBACK = timedelta(hours=24)


class Executions(Protocol):
    def start(self, name: str, payload: dict[str, Any]) -> None: ...


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
        self._snapshots = RunSnapshots(artifacts)
        self._accounts = accounts
        self._executions = executions
        self._tokens = tokens
        self._clock = clock
        self._lockers = lockers
        self._collector = Collector(repo, self._snapshots, lockers)
        self._committer = Committer(repo, self._snapshots, self._epoch, lockers, alternative)

    def _epoch(self) -> int:
        return int(self._clock().timestamp())

    # -- starting ----------------------------------------------------------------------------

    def start(self, depot_id: str, trigger: str = "manual") -> tuple[str, bool]:
        """Start a run for the depot now: (run id, True); or, when one is already running,
        (its id, False). The execution is named by the run id."""
        self._accounts.depot(depot_id)
        for _ in range(3):
            # Milliseconds: the depot's runs are listed by start, and two can start in a second.
            started = iso_z(self._clock(), "milliseconds")
            run = Run(new_run_id(), depot_id, RunStatus.RUNNING, trigger, started)
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
            # Not the orders a finished run gave back for a planning reason: they wait for the
            # next run, but starting one for them alone would plan nothing new, every N minutes.
            # Those left out for the fleet being busy count again once a vehicle is back.
            now = self._epoch()
            unclaimed = [r for r in self._repo.ready_orders(depot_id) if r.claimed_until < now]
            waiting = sum(1 for r in unclaimed if r.left_out_for not in problems.PLANNING_REASONS)
            busy = sum(1 for r in unclaimed if r.left_out_for == problems.FLEET_BUSY)
            short = waiting < policy.rolling_min_orders
            if short and busy and self._a_vehicle_is_free(depot_id, policy):
                waiting += busy
            if waiting < policy.rolling_min_orders:
                return {"depot_id": depot_id, "started": False, "waiting": waiting}
        run_id, started = self.start(depot_id, trigger)
        return {"depot_id": depot_id, "run_id": run_id, "started": started}

    def _a_vehicle_is_free(self, depot_id: str, policy: DispatchPolicy) -> bool:
        """Whether some vehicle of the depot has free time in the horizon (free_time.py)."""
        now = self._clock()
        horizon = timedelta(hours=policy.horizon_hours)
        committed = self._repo.routes_of_depot(depot_id, since=now - COMMITTED_LOOKBACK)
        return any(
            free_time(v, committed, now, now + horizon) is not None
            for v in self._accounts.fleet(depot_id)
        )

    # -- the state machine's steps -----------------------------------------------------------

    def collect(self, event: dict[str, Any]) -> dict[str, Any]:
        """Claim the depot's ready orders for this run (up to its policy's cap); snapshot them
        for the later steps."""
        run_id, depot_id = event["run_id"], event["depot_id"]
        policy = DispatchPolicy.from_dict(self._accounts.depot(depot_id).dispatch)
        claimed = self._collector.collect(
            run_id, depot_id, self._epoch(), limit=policy.max_orders_per_run
        )
        return {**_run_fields(event), "claimed": claimed}

    def build(self, event: dict[str, Any]) -> dict[str, Any]:
        """The routing problem(s) in S3, one per part; the state machine maps over the parts."""
        run_id, depot_id = event["run_id"], event["depot_id"]
        depot = self._accounts.depot(depot_id)
        policy = DispatchPolicy.from_dict(depot.dispatch)
        orders = self._snapshots.orders(run_id)
        retrievals = self._snapshots.retrievals(run_id)
        t0 = self._clock().replace(microsecond=0)
        committed = self._repo.routes_of_depot(depot_id, since=t0 - COMMITTED_LOOKBACK)
        built = problems.build(
            depot,
            self._accounts.fleet(depot_id),
            orders,
            policy,
            t0,
            lockers=self._rooms(depot_id),
            retrievals=retrievals,
            committed=committed,
            live=self._live(committed, t0) if policy.insert_into_live_routes and orders else [],
        )
        parts = []
        for n, part in enumerate(built.parts):
            time_limit = solver_time_limit(policy, len(part.stops))
            key = self._snapshots.put_problem(run_id, n, part)
            parts.append(
                {"run_id": run_id, "part": n, "problem_key": key, "time_limit_s": time_limit}
            )
        self._snapshots.put_build(run_id, t0, built.left_out, built.held, built.live)
        claimed = len(orders) + len(retrievals)
        return {**_run_fields(event), "claimed": claimed, "t0": iso_z(t0), "parts": parts}

    def _live(self, committed: list[PlannedRoute], t0: datetime) -> list[Opened]:
        """The routes on the road that may take new orders, with their carried orders read."""
        ids = [s.order_id for r in committed if live_routes.on_the_road(r, t0) for s in r.stops]
        return live_routes.open_routes(committed, self._repo.orders(ids), t0)

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
        """Routes, ETAs, planned orders and their locker doors; the left-out back to ready.
        Safe to run again (dispatch/commit.py)."""
        parts = [solved["part"] for solved in event["plans"]]
        figures = self._committer.commit(event["run_id"], event["depot_id"], parts)
        return {**_run_fields(event), "figures": figures}

    def finish(self, event: dict[str, Any]) -> dict[str, Any]:
        run_id, depot_id = event["run_id"], event["depot_id"]
        figures = event.get("figures") or {"orders": 0, "planned": 0, "routes": 0}
        self._repo.settle(run_id, RunStatus.SUCCEEDED, utc_now(), figures=figures)
        self._repo.end(depot_id, run_id)
        return {**_run_fields(event), "status": str(RunStatus.SUCCEEDED)}

    def release(self, event: dict[str, Any]) -> dict[str, Any]:
        """After a failure: every order the run claimed or planned is ready again, with the
        reason (a planned one's customer told it is being re-planned); its routes are
        withdrawn; the run is failed and the depot free. Safe to run again, and run by the
        reaper too for a run that died outside the state machine's Catch; `settled` says
        whether this call was the one that failed the run."""
        run_id, depot_id = event["run_id"], event["depot_id"]
        error = event.get("error") or {}
        cause = f"{error.get('Error', 'error')}: {str(error.get('Cause', ''))[:500]}"
        run = self._repo.get_run(run_id)
        if run is not None and run.status is RunStatus.SUCCEEDED:
            self._repo.end(depot_id, run_id)  # it had finished; only the lock was left
            return {
                **_run_fields(event),
                "status": str(run.status),
                "released": 0,
                "settled": False,
            }
        reason = f"dispatch run {run_id} failed ({error.get('Error', 'error')})"
        at = utc_now()
        ids = {
            ready.order_id
            for ready in self._repo.ready_orders(depot_id)
            if ready.claimed_by == run_id
        }
        try:
            ids |= {order.order_id for order in self._snapshots.orders(run_id)}
        except ArtifactMissing:
            pass  # the run failed before its snapshot: the claims found above are all it took
        outcomes = in_parallel(
            lambda order_id: self._repo.release_order(order_id, run_id, reason, at), sorted(ids)
        )
        released = outcomes.count("released") + self._release_lockers(run_id)
        self._withdraw_from_live_routes(run_id, ids, at)
        self._repo.delete_routes(run_id)
        settled = self._repo.settle(run_id, RunStatus.FAILED, at, error=cause)
        self._repo.end(depot_id, run_id)
        logger.warning(
            "dispatch run failed; orders released",
            extra={"run_id": run_id, "released": released, "error": cause},
        )
        return {
            **_run_fields(event),
            "status": str(RunStatus.FAILED),
            "released": released,
            "settled": settled,
        }

    def _withdraw_from_live_routes(self, run_id: str, order_ids: set[str], at: str) -> None:
        """The stops this run inserted into routes on the road taken off them again, with the
        trip they needed (the carried stops back on the trip before, re-timed from the van)."""
        try:
            opened = self._snapshots.live(run_id)
        except ArtifactMissing:
            return  # failed before its build: it touched no route
        for live in opened:
            inserted = order_ids - set(live.carried)
            withdraw = partial(live_routes.withdrawn, order_ids=inserted, now=at)
            self._rewrite_route(live.route_id, withdraw)

    def _release_lockers(self, run_id: str) -> int:
        """A failed run's locker doors held for its orders, and its retrievals, given back."""
        if self._lockers is None:
            return 0
        lockers = self._lockers
        try:
            snapshot = self._snapshots.orders(run_id)
        except ArtifactMissing:
            snapshot = []
        for order in snapshot:
            if order.delivery.type is DeliveryType.LOCKER and order.delivery.locker_id:
                lockers.release_reservations(
                    order.delivery.locker_id,
                    order.order_id,
                    route_prefix=route_id_for(run_id, 0)[:-3],
                )
        outcomes = in_parallel(
            lambda parcel: lockers.unclaim_retrieval(parcel, run_id),
            self._snapshots.retrievals(run_id),
        )
        return outcomes.count("released")

    # -- reading -----------------------------------------------------------------------------

    def runs_of_depot(self, depot_id: str, *, limit: int, start: Key | None) -> Page[Run]:
        """A page of the depot's runs, newest first (DepotNotFound for no such depot)."""
        self._accounts.depot(depot_id)
        return self._repo.runs_of_depot(depot_id, limit=limit, start=start)

    def run_results(self, run_id: str) -> RunResults:
        """The run with its routes (by id, each with its driver token) and the orders it left
        out (DispatchRunNotFound for no such run)."""
        found = self._repo.run_with_results(run_id)
        if found is None:
            raise DispatchRunNotFound(f"no dispatch run {run_id}")
        run, routes, unassigned = found
        by_id = sorted(routes, key=lambda r: r.route_id)
        return RunResults(run, [(r, self._tokens.token_for(r)) for r in by_id], unassigned)

    def remove_from_route(self, order: Order) -> None:
        """A planned order left (cancelled): its stop goes, the later stops' ETAs move up, and
        the locker doors held for it are free again."""
        if self._lockers is not None and order.delivery.locker_id:
            self._lockers.release_reservations(order.delivery.locker_id, order.order_id)
        if order.route_id:
            self._rewrite_route(order.route_id, partial(without_stop, order_id=order.order_id))

    def _rewrite_route(
        self, route_id: str, change: Callable[[PlannedRoute], PlannedRoute], tries: int = 3
    ) -> None:
        """The route as `change` makes it (nothing if it makes none, or the route is gone),
        written on its version: on a clash read again and changed again, `tries` times. The
        later stops' live ETAs move on the route; their orders' own by the rule a ping's
        re-timing follows (only those that moved far enough)."""
        for _ in range(tries):
            route = self._repo.get_route(route_id)
            if route is None:
                return
            changed = change(route)
            if changed is route:
                return
            changed, etas = published(route, changed, datetime.now(UTC))
            try:
                self._repo.replace_route(changed, expected_version=route.version)
            except ConcurrentUpdate:
                continue
            for order_id, moved in etas.items():
                self._repo.set_eta(order_id, route.route_id, moved)
            return
        raise ConcurrentUpdate(f"route {route_id} keeps changing; retry")


@dataclass(frozen=True)
class RunResults:
    """What a run made, as its reader is answered (api/replies.py DispatchRunOut)."""

    run: Run
    routes: list[tuple[PlannedRoute, str]]  # each with its driver token
    unassigned: dict[str, str]  # order id -> why it was left out


def solver_time_limit(policy: DispatchPolicy, stops: int) -> int:
    """The policy's limit, but a small batch gets less: the engines search until their time is
    up, and a few stops are solved well in seconds (a second per 10 stops, at least 5)."""
    return min(policy.time_limit_s, MAX_SOLVER_TIME_LIMIT_S, max(5, math.ceil(stops / 10)))


def _run_fields(event: dict[str, Any]) -> dict[str, Any]:
    return {k: event[k] for k in ("run_id", "depot_id", "trigger") if k in event}
