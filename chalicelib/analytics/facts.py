"""The facts of a delivery operation, one record per event that happened, and what each adds
to its day's aggregate. Pure: the store writes a fact and its contribution in one transaction.

A fact is flat and typed (the export writes it as it is): what happened (`kind`), to what
(`subject`: an order or a route) and which time (`identity`, unique within the subject, so a
retry of the same event finds its fact already there), the depot-local `day` it counts on
(the export's partition key), where (`depot_id`, `merchant_id`, `vehicle_id`) and the values."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib.analytics.emissions import g_co2e
from chalicelib.domain.lifecycle import FAILURE_REASONS
from chalicelib.domain.times import parse_iso

NONE = "-"  # no merchant (a route's fact) or no vehicle (a customer's or the sweep's)
DELAY_CAP_S = 90 * 60  # Onfleet: the delay of a late task counts up to 90 minutes
SERVICE_CAP_S = 30 * 60  # Onfleet: time at a stop counts up to 30 minutes
RATINGS = (1, 2, 3, 4, 5)
SHARDS = 4  # a day's cells without a vehicle are spread over this many items (concurrency)

# Every counter an aggregate cell holds (each ADDed by the facts below, never SET).
COUNTERS: tuple[str, ...] = (
    "orders",
    "delivered",
    "delivered_locker",
    "failed_attempts",
    *(f"failed_{reason}" for reason in FAILURE_REASONS),
    "returned",
    "cancelled",
    "first_attempts",
    "first_attempt_successes",
    "promised",
    "on_time",
    "otif",
    "delayed",
    "delay_s",
    "out_deliveries",
    "out_s",
    "service_stops",
    "service_s",
    "stops",
    "stop_distance_m",
    "stop_co2e_g",
    "parcels_delivered",
    "deposits",
    "collections",
    "collection_s",
    "expiries",
    "ratings",
    "rating_sum",
    *(f"rating_{n}" for n in RATINGS),
    "routes",
    "route_stops",
    "route_tasks",
    "route_active_s",
    "route_planned_s",
    "route_actual_s",
    "route_distance_m",
    "route_co2e_g",
)
# Durations kept as whole-minute histograms (exact medians and p90 at minute precision). One
# per delivery: a 90-parcel locker deposit's transaction has room for no more (100 items).
HISTOGRAMS = ("received_to_delivered",)

Value = str | int | float | bool | None


@dataclass(frozen=True)
class Fact:
    kind: str
    subject: str
    identity: str
    day: str
    depot_id: str
    merchant_id: str
    vehicle_id: str
    at: str
    values: Mapping[str, Value] = field(default_factory=dict)

    @property
    def shard(self) -> str:
        """Facts of one vehicle come one at a time (its driver's phone): one cell. Those of no
        vehicle (customers, the sweep, cancellations) spread over SHARDS cells by subject."""
        if self.vehicle_id != NONE:
            return "0"
        return str(hashlib.sha256(self.subject.encode()).digest()[0] % SHARDS)


@dataclass(frozen=True)
class Contribution:
    """What a fact adds to its cell: counters, and one bucket (whole minutes) per histogram."""

    counters: Mapping[str, float]
    buckets: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Stop:
    """What a stop's fact needs of the route that served it."""

    route_id: str
    vehicle_id: str
    profile: str
    share_m: float  # the route's distance over its planned stops: this stop's share


def zone_of(name: str | None) -> tzinfo:
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_day(at: str, zone: tzinfo) -> str:
    """The depot's calendar day of an instant (what every aggregate is keyed by)."""
    return parse_iso(at).astimezone(zone).date().isoformat()


def _seconds(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return max(0.0, (parse_iso(end) - parse_iso(start)).total_seconds())


@dataclass(frozen=True)
class Delivered:
    """An order's delivery as the facts read it: from explicit event times, never
    `updated_at`. `window` is the last one told to the customer (None: none was promised)."""

    order_id: str
    merchant_id: str
    depot_id: str
    received_at: str
    delivered_at: str
    parcels: int
    attempt: int  # 1 for the first attempt
    out_for_delivery_at: str | None = None
    arrived_at: str | None = None
    window: tuple[str, str] | None = None
    parcels_delivered: int | None = None  # None: all of them
    locker_id: str | None = None


def delivery_fact(d: Delivered, stop: Stop | None, zone: tzinfo) -> Fact:
    at = parse_iso(d.delivered_at)
    on_time: bool | None = None
    delay_s: float | None = None
    if d.window is not None:
        start, end = parse_iso(d.window[0]), parse_iso(d.window[1])
        on_time = start <= at <= end
        delay_s = max(0.0, (at - end).total_seconds())
    parcels_delivered = d.parcels if d.parcels_delivered is None else d.parcels_delivered
    in_full = parcels_delivered >= d.parcels
    service_s = _seconds(d.arrived_at, d.delivered_at)
    share = stop.share_m if stop else 0.0
    return Fact(
        kind="locker_deposit" if d.locker_id else "delivery",
        subject=d.order_id,
        identity="DELIVERY",  # an order is delivered (or deposited) once
        day=local_day(d.delivered_at, zone),
        depot_id=d.depot_id,
        merchant_id=d.merchant_id,
        vehicle_id=stop.vehicle_id if stop else NONE,
        at=d.delivered_at,
        values={
            "route_id": stop.route_id if stop else None,
            "vehicle_profile": stop.profile if stop else None,
            "locker_id": d.locker_id,
            "received_at": d.received_at,
            "out_for_delivery_at": d.out_for_delivery_at,
            "arrived_at": d.arrived_at,
            "delivered_at": d.delivered_at,
            "window_start": d.window[0] if d.window else None,
            "window_end": d.window[1] if d.window else None,
            "on_time": on_time,
            "delay_s": delay_s,
            "in_full": in_full,
            "parcels": d.parcels,
            "parcels_delivered": parcels_delivered,
            "attempt": d.attempt,
            "service_s": service_s,
            "received_to_delivered_s": _seconds(d.received_at, d.delivered_at),
            "out_to_delivered_s": _seconds(d.out_for_delivery_at, d.delivered_at),
            "distance_m": share,
            "co2e_g": g_co2e(stop.profile, share) if stop else 0.0,
        },
    )


def failed_fact(
    order_id: str,
    merchant_id: str,
    depot_id: str,
    at: str,
    reason: str | None,
    attempt: int,
    stop: Stop | None,
    zone: tzinfo,
    *,
    arrived_at: str | None = None,
) -> Fact:
    share = stop.share_m if stop else 0.0
    return Fact(
        kind="failed_attempt",
        subject=order_id,
        identity=f"FAILED#{attempt}",  # the n-th attempt fails once
        day=local_day(at, zone),
        depot_id=depot_id,
        merchant_id=merchant_id,
        vehicle_id=stop.vehicle_id if stop else NONE,
        at=at,
        values={
            "route_id": stop.route_id if stop else None,
            "vehicle_profile": stop.profile if stop else None,
            "reason": reason if reason in FAILURE_REASONS else "other",
            "attempt": attempt,
            "arrived_at": arrived_at,
            "service_s": _seconds(arrived_at, at),
            "distance_m": share,
            "co2e_g": g_co2e(stop.profile, share) if stop else 0.0,
        },
    )


def order_fact(
    kind: str,
    order_id: str,
    merchant_id: str,
    depot_id: str,
    at: str,
    zone: tzinfo,
    **values: Value,
) -> Fact:
    """A fact of no vehicle about an order, once per order: return, cancellation, locker
    collection, locker expiry."""
    return Fact(
        kind=kind,
        subject=order_id,
        identity=kind.upper(),
        day=local_day(at, zone),
        depot_id=depot_id,
        merchant_id=merchant_id,
        vehicle_id=NONE,
        at=at,
        values=values,
    )


def rating_fact(
    order_id: str,
    merchant_id: str,
    depot_id: str,
    rating: int,
    at: str,
    delivery: Fact | None,
    fallback_day: str,
) -> Fact:
    """A customer's rating counts with the delivery it rates (its day, its vehicle); one of a
    delivery older than its facts, on the day it was given."""
    return Fact(
        kind="rating",
        subject=order_id,
        identity="RATING",
        day=delivery.day if delivery else fallback_day,
        depot_id=depot_id,
        merchant_id=merchant_id,
        vehicle_id=delivery.vehicle_id if delivery else NONE,
        at=at,
        values={"rating": rating, "delivered_at": delivery.at if delivery else None},
    )


@dataclass(frozen=True)
class RouteDone:
    """A route whose last stop was served: the plan beside what happened."""

    route_id: str
    depot_id: str
    vehicle_id: str
    profile: str
    planned_start: str
    planned_duration_s: float
    distance_m: float
    stops: int  # planned stops
    tasks: int  # stops served (delivered, failed, deposited)
    started_at: str  # the driver's departure (the planned start when never told)
    finished_at: str  # the last stop served


def route_fact(r: RouteDone, zone: tzinfo) -> Fact:
    active = _seconds(r.started_at, r.finished_at) or 0.0
    return Fact(
        kind="route_completion",
        subject=r.route_id,
        identity="ROUTE",
        day=local_day(r.finished_at, zone),
        depot_id=r.depot_id,
        merchant_id=NONE,  # a route serves many merchants
        vehicle_id=r.vehicle_id,
        at=r.finished_at,
        values={
            "vehicle_profile": r.profile,
            "planned_start": r.planned_start,
            "started_at": r.started_at,
            "finished_at": r.finished_at,
            "planned_duration_s": r.planned_duration_s,
            "actual_duration_s": active,
            "active_s": active,
            "distance_m": r.distance_m,
            "co2e_g": g_co2e(r.profile, r.distance_m),
            "stops": r.stops,
            "tasks": r.tasks,
        },
    )


def _num(values: Mapping[str, Value], name: str) -> float:
    value = values.get(name)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def contribution(fact: Fact) -> Contribution:
    """What `fact` adds to its day's cell."""
    v = fact.values
    c: dict[str, float] = {}
    buckets: dict[str, int] = {}
    if fact.kind == "route_departure":
        return Contribution({})  # its time is read by the route's completion
    if fact.kind in ("delivery", "locker_deposit"):
        c |= {"orders": 1, "delivered": 1, "stops": 1}
        c["parcels_delivered"] = _num(v, "parcels_delivered")
        c["stop_distance_m"] = _num(v, "distance_m")
        c["stop_co2e_g"] = _num(v, "co2e_g")
        if fact.kind == "locker_deposit":
            c |= {"delivered_locker": 1, "deposits": 1}
        if v.get("attempt") == 1:
            c |= {"first_attempts": 1, "first_attempt_successes": 1}
        if v.get("on_time") is not None:
            c["promised"] = 1
            c["on_time"] = 1 if v["on_time"] else 0
            c["otif"] = 1 if v["on_time"] and v.get("in_full") else 0
            if _num(v, "delay_s") > 0:
                c["delayed"] = 1
                c["delay_s"] = min(_num(v, "delay_s"), DELAY_CAP_S)
        if v.get("service_s") is not None:
            c["service_stops"] = 1
            c["service_s"] = min(_num(v, "service_s"), SERVICE_CAP_S)
        if v.get("out_to_delivered_s") is not None:
            c["out_deliveries"] = 1
            c["out_s"] = _num(v, "out_to_delivered_s")
        for name in HISTOGRAMS:
            seconds = v.get(f"{name}_s")
            if isinstance(seconds, int | float):
                buckets[name] = int(seconds // 60)
    elif fact.kind == "failed_attempt":
        c |= {"failed_attempts": 1, f"failed_{v.get('reason') or 'other'}": 1, "stops": 1}
        c["stop_distance_m"] = _num(v, "distance_m")
        c["stop_co2e_g"] = _num(v, "co2e_g")
        if v.get("attempt") == 1:
            c["first_attempts"] = 1
        if v.get("service_s") is not None:
            c["service_stops"] = 1
            c["service_s"] = min(_num(v, "service_s"), SERVICE_CAP_S)
    elif fact.kind == "return":
        c |= {"orders": 1, "returned": 1}  # never delivered: its outcome is the return
    elif fact.kind == "locker_expiry":
        c |= {"expiries": 1, "returned": 1}  # counted as an order when it was deposited
    elif fact.kind == "locker_collection":
        c |= {"collections": 1, "collection_s": _num(v, "collection_s")}
    elif fact.kind == "cancellation":
        c |= {"orders": 1, "cancelled": 1}
    elif fact.kind == "rating":
        rating = int(_num(v, "rating"))
        c |= {"ratings": 1, "rating_sum": rating, f"rating_{rating}": 1}
    elif fact.kind == "route_completion":
        c |= {
            "routes": 1,
            "route_stops": _num(v, "stops"),
            "route_tasks": _num(v, "tasks"),
            "route_active_s": _num(v, "active_s"),
            "route_planned_s": _num(v, "planned_duration_s"),
            "route_actual_s": _num(v, "actual_duration_s"),
            "route_distance_m": _num(v, "distance_m"),
            "route_co2e_g": _num(v, "co2e_g"),
        }
    else:
        raise ValueError(f"no such fact kind: {fact.kind}")
    return Contribution({k: n for k, n in c.items() if n}, buckets)
