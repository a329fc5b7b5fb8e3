"""Dispatch runs, their routes and left-out orders, and the depot's one-run lock (claims of
orders live on the order item: `OrderItem.claimed_by`/`claimed_until`)."""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
)

from chalicelib.store.models.base import Gsi1Index, MainItem


class DepotRunLockItem(MainItem, discriminator="dispatch_lock"):
    """pk DEPOT#<id>, sk DISPATCH: the run dispatching the depot, until its lease ends (a run
    that vanished gives the depot up then). While held, it is in gsi1 under DISPATCH#HELD
    (sparse: a free depot's lock has no gsi1 keys), where the reaper finds every held depot."""

    active_run_id = UnicodeAttribute(null=True)
    lease_until = NumberAttribute(null=True)  # epoch seconds
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)  # <depot id>

    held = Gsi1Index["DepotRunLockItem"]()


class DispatchRunItem(MainItem, discriminator="dispatch_run"):
    """pk RUN#<id>, sk RUN: one dispatch run, its outcome and figures."""

    run_id = UnicodeAttribute()
    depot_id = UnicodeAttribute()
    status = UnicodeAttribute()
    trigger = UnicodeAttribute()
    started_at = UnicodeAttribute()
    finished_at = UnicodeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    figures = MapAttribute[str, object](default=dict)  # counts and sums, as the run reports
    gsi1pk = UnicodeAttribute(null=True)  # DEPOT#<id>#RUNS (null on runs older than the index)
    gsi1sk = UnicodeAttribute(null=True)  # <started_at>#<run id>

    # A depot's runs by start: the operator reads them newest first.
    by_depot = Gsi1Index["DispatchRunItem"]()


class RouteStopAttribute(MapAttribute[str, object]):
    order_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    eta = UnicodeAttribute()
    lat = NumberAttribute()
    lng = NumberAttribute()
    service_s = NumberAttribute()
    earliest = UnicodeAttribute(null=True)
    locker_id = UnicodeAttribute(null=True)
    state = UnicodeAttribute(default="pending")
    planned_eta = UnicodeAttribute(null=True)
    delay_announced = BooleanAttribute(default=False)
    arriving_announced = BooleanAttribute(null=True)
    told_eta = UnicodeAttribute(null=True)
    trip = NumberAttribute(null=True)  # unset: 1


class RouteTripAttribute(MapAttribute[str, object]):
    trip = NumberAttribute()
    depart_at = UnicodeAttribute()
    return_at = UnicodeAttribute()


class FixAttribute(MapAttribute[str, object]):
    lat = NumberAttribute()
    lng = NumberAttribute()
    at = UnicodeAttribute()
    received_at = UnicodeAttribute()
    ignored = UnicodeAttribute(null=True)
    event_id = UnicodeAttribute(null=True)


class RouteItem(MainItem, discriminator="dispatch_route"):
    """pk RUN#<run id>, sk ROUTE#<route id>: a committed route with its stops, written whole
    (a changed route replaces the item, guarded by its version; every ping rewrites it, so it
    is in no index: an index would copy all of it on every write)."""

    route_id = UnicodeAttribute()
    run_id = UnicodeAttribute()
    depot_id = UnicodeAttribute()
    vehicle_id = UnicodeAttribute()
    profile = UnicodeAttribute()
    start_at = UnicodeAttribute()
    depot_lat = NumberAttribute()
    depot_lng = NumberAttribute()
    distance_m = NumberAttribute()
    duration_s = NumberAttribute()
    stops = ListAttribute(of=RouteStopAttribute)
    version = NumberAttribute(default=1)
    last_fix = FixAttribute(null=True)
    ignored_fixes = ListAttribute(of=FixAttribute, null=True)
    breaks_at = ListAttribute[str](null=True)
    loaded = ListAttribute[str](null=True)  # parcel labels scanned at the depot
    not_loaded = ListAttribute[str](null=True)  # labels not scanned when it departed
    trips = ListAttribute(of=RouteTripAttribute, null=True)  # set for two trips or more
    reload_s = NumberAttribute(null=True)
    on_trip = NumberAttribute(null=True)


class RouteStartItem(MainItem, discriminator="dispatch_route_start"):
    """pk RUN#<run id>, sk STARTS#<route id>: where a route is, in gsi1 under
    DEPOT#<id>#ROUTES by its start: the routes that may still hold the depot's vehicles. Written
    once with its route; small, so the index costs a few bytes a route, not its stops."""

    route_id = UnicodeAttribute()
    run_id = UnicodeAttribute()
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()  # start_at (UTC, Z)

    by_depot = Gsi1Index["RouteStartItem"]()


class LeftOutAttribute(MapAttribute[str, object]):
    order_id = UnicodeAttribute()
    reason = UnicodeAttribute()


class UnassignedItem(MainItem, discriminator="dispatch_unassigned"):
    """pk RUN#<run id>, sk UNASSIGNED#<nnnn>: a page of the orders a run left out and why."""

    orders = ListAttribute(of=LeftOutAttribute)
