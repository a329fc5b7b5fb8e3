"""Dispatch runs and depot policies: when a depot plans, over what horizon, at what cost."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

from chalicelib.domain.times import iso_z, parse_iso

# DynamoDB's limits that a run's writes are sized against: items in one transaction, and a
# planned order's own writes in its transaction (the order, its timeline event, its outbox
# message) beside one per locker door it reserves.
TRANSACTION_MAX_ITEMS = 100
PLAN_WRITES = 3
ITEM_MAX_BYTES = 400 * 1024
MAX_ORDERS_PER_RUN = 2000  # a depot policy's default cap; the rest wait for the next run
# A van back at the depot mid-route to load the orders a live re-plan gave it takes this long
# there (dispatch/live_routes.py): parking, the parcels found and scanned, loaded.
DEPOT_LOAD_S = 600.0  # (its vehicle's reload time instead, when it has one)


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class DispatchPolicy:
    """A depot's dispatch policy. Waves are local cut-off times ("HH:MM", in the depot's time
    zone); a rolling window starts a run every `rolling_every_minutes` once at least
    `rolling_min_orders` orders wait. Either, both, or neither (then only on demand)."""

    waves: tuple[str, ...] = ()
    rolling_every_minutes: int | None = None
    rolling_min_orders: int = 1
    horizon_hours: float = 12.0
    time_limit_s: int = 60
    fixed_cost: float = 0.0
    cost_per_km: float = 1.0
    cost_per_hour: float = 0.0
    max_orders_per_run: int = MAX_ORDERS_PER_RUN
    # A run may put its new orders onto routes already on the road (dispatch/live_routes.py),
    # not only onto vehicles free of routes.
    insert_into_live_routes: bool = False

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> DispatchPolicy:
        d = d or {}
        rolling = d.get("rolling") or {}
        weights = d.get("weights") or {}
        return cls(
            waves=tuple(d.get("waves") or ()),
            rolling_every_minutes=rolling.get("every_minutes"),
            rolling_min_orders=int(rolling.get("min_orders", 1)),
            horizon_hours=float(d.get("horizon_hours", 12.0)),
            time_limit_s=int(d.get("time_limit_s", 60)),
            fixed_cost=float(weights.get("fixed_cost", 0.0)),
            cost_per_km=float(weights.get("cost_per_km", 1.0)),
            cost_per_hour=float(weights.get("cost_per_hour", 0.0)),
            max_orders_per_run=int(d.get("max_orders_per_run") or MAX_ORDERS_PER_RUN),
            insert_into_live_routes=bool(d.get("insert_into_live_routes", False)),
        )

    def to_dict(self) -> dict[str, Any]:
        rolling = (
            {"every_minutes": self.rolling_every_minutes, "min_orders": self.rolling_min_orders}
            if self.rolling_every_minutes
            else None
        )
        return {
            "waves": list(self.waves),
            "rolling": rolling,
            "horizon_hours": self.horizon_hours,
            "time_limit_s": self.time_limit_s,
            "weights": {
                "fixed_cost": self.fixed_cost,
                "cost_per_km": self.cost_per_km,
                "cost_per_hour": self.cost_per_hour,
            },
            "max_orders_per_run": self.max_orders_per_run,
            "insert_into_live_routes": self.insert_into_live_routes,
        }


@dataclass(frozen=True)
class Run:
    run_id: str
    depot_id: str
    status: RunStatus
    trigger: str
    started_at: str
    finished_at: str | None = None
    error: str | None = None
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RouteStop:
    """A stop of a committed route. `service_s` and `earliest` (window start) let the ETAs of
    later stops be recomputed when one leaves the route."""

    order_id: str
    kind: str  # delivery | locker
    eta: str
    lat: float
    lng: float
    service_s: float
    earliest: str | None = None
    locker_id: str | None = None
    # pending | done (delivered, failed or deposited: visited) | cancelled (its order was) |
    # dropped (its order is no longer on this route: released, re-planned elsewhere)
    state: str = "pending"
    planned_eta: str | None = None  # the ETA the run promised (eta moves with the day)
    delay_announced: bool = False
    arriving_announced: bool = False  # its customer was told the van is coming next (once)
    # The ETA the order item holds, when it differs from `eta` (the live one, kept here): an
    # order is written only when its live ETA moves far enough from it (dispatch/eta.py).
    told_eta: str | None = None
    trip: int = 1  # which trip of its route (a vehicle back at the depot to reload between)

    @property
    def order_eta(self) -> str:
        """The ETA the stop's order item holds."""
        return self.told_eta or self.eta


@dataclass(frozen=True)
class Fix:
    """A GPS fix a driver's phone sent: where, when by its clock (`at`) and by ours
    (`received_at`); `ignored` says why it was not used for ETAs (kept for the record)."""

    lat: float
    lng: float
    at: str
    received_at: str
    ignored: str | None = None
    event_id: str | None = None  # the phone's, so a retried ping is known without a receipt


@dataclass(frozen=True)
class RouteTrip:
    """One trip of a route: leaving the depot loaded, back to it (live: re-timed with the
    stops; planned until then)."""

    trip: int
    depart_at: str
    return_at: str


@dataclass(frozen=True)
class PlannedRoute:
    route_id: str
    run_id: str
    depot_id: str
    vehicle_id: str
    profile: str
    start_at: str
    depot_lat: float
    depot_lng: float
    distance_m: float
    duration_s: float
    stops: tuple[RouteStop, ...]
    version: int = 1
    last_fix: Fix | None = None  # the last fix used for ETAs (or the last stop served)
    ignored_fixes: tuple[Fix, ...] = ()  # the latest fixes not used, newest last (bounded)
    breaks_at: tuple[str, ...] = ()  # when the driver's breaks on this route were planned to start
    loaded: tuple[str, ...] = ()  # parcel labels scanned onto the van at the depot
    not_loaded: tuple[str, ...] = ()  # its parcels' labels not scanned when it departed
    # A route of several trips: each trip's times, the reload time between them, and the last
    # trip the driver has departed on (`departed` per trip; 0 before the first).
    trips: tuple[RouteTrip, ...] = ()
    reload_s: float = 0.0
    on_trip: int = 0

    def trip_list(self) -> tuple[RouteTrip, ...]:
        """Its trips; a route of one trip (or written before trips) has the one."""
        if self.trips:
            return self.trips
        end = parse_iso(self.start_at) + timedelta(seconds=self.duration_s)
        return (RouteTrip(1, self.start_at, iso_z(end)),)


@dataclass(frozen=True)
class ReadyOrder:
    """A depot's ready order as dispatch sees it: the run that claims it, if any, and until
    when (epoch seconds; a claim whose time is past is nobody's)."""

    order_id: str
    claimed_by: str | None = None
    claimed_until: int = 0
    left_out_for: str | None = None  # why the last run that claimed it gave it back

    def claimable(self, run_id: str, now: int) -> bool:
        return self.claimed_by in (None, run_id) or self.claimed_until < now


@dataclass(frozen=True)
class HeldDepot:
    """A depot whose one-run lock a run holds, until when (epoch seconds)."""

    depot_id: str
    run_id: str
    lease_until: int


def new_run_id() -> str:
    return "run_" + secrets.token_hex(8)


def route_id_for(run_id: str, index: int) -> str:
    """Route ids carry their run (routes live under the run in the store)."""
    return f"rte_{run_id.removeprefix('run_')}_{index:03d}"


def run_id_of_route(route_id: str) -> str | None:
    parts = route_id.split("_")
    if len(parts) != 3 or parts[0] != "rte" or not parts[2].isdigit():
        return None
    return "run_" + parts[1]
