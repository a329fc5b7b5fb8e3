"""What a van's location pings cost in DynamoDB writes: a route of N stops driven on a simulated
clock (pings every 15 s while driving and serving, each stop delivered), every item written
counted at the SDK (a transaction of 3 items is 3). `python -m chalicelib.local.ping_bench`
prints the figures against the embedded AWS stand-in; `writes_per_ping` is what a load bench
calls against whatever store bootstrap is configured for."""

from __future__ import annotations

import argparse
import json
import math
import random
import secrets
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib import bootstrap
from chalicelib.accounts.service import NewDepot, NewMerchant
from chalicelib.dispatch.eta import from_position
from chalicelib.domain.dispatch import PlannedRoute, RouteStop, new_run_id, route_id_for
from chalicelib.domain.geo import great_circle_m
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.order import Address, Customer, OrderDraft, Parcel
from chalicelib.domain.times import iso_z
from chalicelib.orders.service import Action, Inbound
from chalicelib.routing.model import PROFILES
from chalicelib.store.models.base import MainItem, shared_connection
from chalicelib.tracking.route_events import RouteEvent, RouteEventService

TARGET_WRITES_PER_PING = 1.2
PING_EVERY = timedelta(seconds=15)
SERVICE_S = 120.0
DEPOT = (51.5, -0.12)


def item_bytes(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB bills it (attribute names and values, DynamoDB JSON)."""
    return sum(len(name.encode()) + _value_bytes(value) for name, value in item.items())


def _value_bytes(value: dict[str, Any]) -> int:
    ((kind, v),) = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        digits = v.lstrip("-").replace(".", "").strip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + _value_bytes(x) for k, x in v.items())
    if kind == "L":
        return 3 + sum(1 + _value_bytes(x) for x in v)
    return len(json.dumps(v))  # sets and binaries: none of ours, an estimate


class WriteCounter:
    """DynamoDB items written through the store's one connection, while `on`, and the write
    units they cost: a put by its size (1 KB units), an update or delete as 1 (a lower bound:
    DynamoDB bills the larger of the item before and after), doubled in a transaction."""

    def __init__(self) -> None:
        self.items = 0
        self.units = 0
        self.by_operation: dict[str, int] = {}
        self.largest_item_bytes = 0
        self.on = False
        self._lock = threading.Lock()
        client = shared_connection(MainItem.Meta.region, MainItem.Meta.host).client
        client.meta.events.register("before-parameter-build.dynamodb", self._count)

    def _count(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        if not self.on:
            return
        name = model.name
        if name in ("PutItem", "UpdateItem", "DeleteItem"):
            n, units = 1, self._units(params.get("Item"))
        elif name == "TransactWriteItems":
            n = len(params["TransactItems"])
            puts = [t.get("Put", {}).get("Item") for t in params["TransactItems"]]
            units = 2 * sum(self._units(item) for item in puts)
        elif name == "BatchWriteItem":
            writes = [w for ws in params["RequestItems"].values() for w in ws]
            n = len(writes)
            units = sum(self._units(w.get("PutRequest", {}).get("Item")) for w in writes)
        else:
            return
        with self._lock:
            self.items += n
            self.units += units
            self.by_operation[name] = self.by_operation.get(name, 0) + n

    def _units(self, item: dict[str, Any] | None) -> int:
        if item is None:
            return 1
        size = item_bytes(item)
        self.largest_item_bytes = max(self.largest_item_bytes, size)
        return max(1, math.ceil(size / 1024))


def _stops_around(n: int, rng: random.Random) -> list[tuple[float, float]]:
    """`n` stops on a meandering walk out of the depot and back, 300-900 m apart."""
    lat, lng = DEPOT
    heading = rng.uniform(0, 2 * math.pi)
    found = []
    for i in range(n):
        heading += rng.uniform(-0.9, 0.9) + (math.pi / n if i > n / 2 else 0.0)
        step = rng.uniform(300, 900)
        lat += step * math.cos(heading) / 111_320
        lng += step * math.sin(heading) / (111_320 * math.cos(math.radians(lat)))
        found.append((round(lat, 6), round(lng, 6)))
    return found


def _route_of(stops: int, rng: random.Random, start: datetime) -> tuple[Any, PlannedRoute]:
    """A depot, a merchant, `stops` orders out for delivery on one committed route."""
    accounts = bootstrap.accounts()
    depot = accounts.create_depot(
        NewDepot(name="Ping bench", lat=DEPOT[0], lng=DEPOT[1], timezone="Europe/London")
    )
    merchant, _ = accounts.create_merchant(NewMerchant(name="Pings", depot_id=depot.depot_id))
    run_id = new_run_id()
    route_id = route_id_for(run_id, 0)
    orders = bootstrap.orders()
    repo = bootstrap.order_repository()
    planned = []
    for n, (lat, lng) in enumerate(_stops_around(stops, rng)):
        draft = OrderDraft(
            external_id=f"ping-{secrets.token_hex(4)}-{n}",
            customer=Customer(name="Pat Driver", email=None, phone=None),
            address=Address("1 High St", "London", "N1 1AA", "GB", lat=lat, lng=lng),
            parcels=(Parcel(2.0),),
        )
        created = orders.ingest(merchant, Inbound("api", Action.UPSERT, draft.external_id, draft))
        assert created.order is not None
        planned.append(
            RouteStop(created.order.order_id, "delivery", iso_z(start), lat, lng, SERVICE_S)
        )
    route = PlannedRoute(
        route_id, run_id, depot.depot_id, "van-0", "van", iso_z(start), *DEPOT, 0.0, 0.0, ()
    )
    route = from_position(replace(route, stops=tuple(planned)), *DEPOT, iso_z(start))
    total = (datetime.fromisoformat(route.stops[-1].eta) - start).total_seconds()
    route = replace(
        route,
        stops=tuple(replace(s, planned_eta=s.eta) for s in route.stops),
        duration_s=total + SERVICE_S,
        version=1,
    )
    for stop in route.stops:
        order = repo.get(stop.order_id)
        assert order is not None
        out = order.moved_to(OrderStatus.PLANNED, at=iso_z(start)).moved_to(
            OrderStatus.OUT_FOR_DELIVERY, at=iso_z(start)
        )
        out = replace(out, route_id=route_id, run_id=run_id, eta=stop.eta)
        repo.save(out, [], expected_version=order.version)
    bootstrap.dispatch_repository().put_route(route)
    return merchant, route


def writes_per_ping(
    stops: int = 150,
    legs: int | None = None,
    pace: tuple[float, float] = (0.85, 1.2),
    seed: int = 7,
) -> dict[str, Any]:
    """Drive the first `legs` (all, by default) of a `stops`-stop route, each leg at the
    planned pace times a factor drawn from `pace`, and count the DynamoDB items the pings and
    the door events wrote. Needs a configured store (bootstrap's settings)."""
    rng = random.Random(seed)  # noqa: S311  # a repeatable drive, not a secret
    start = datetime.now(UTC).replace(microsecond=0)
    _, route = _route_of(stops, rng, start)
    clock = [start]
    tokens = bootstrap.driver_tokens()
    events = RouteEventService(
        bootstrap.dispatch_repository(),
        bootstrap.order_repository(),
        tokens,
        bootstrap.proof_store(),
        clock=lambda: clock[0],
    )
    token = tokens.token_for(route)
    counter = WriteCounter()
    profile = PROFILES[route.profile]
    speed = profile.speed_kmh / 3.6
    events.record(route.route_id, token, RouteEvent("departed", iso_z(clock[0])))
    pings = door_events = ping_writes = door_writes = ignored = ping_units = 0
    # Per operation: PutItem is the route item (and any "delayed" message), UpdateItem an
    # order's ETA.
    ping_operations: dict[str, int] = {}

    def ping(lat: float, lng: float) -> None:
        nonlocal pings, ping_writes, ignored, ping_units
        before, units_before = counter.items, counter.units
        operations = dict(counter.by_operation)
        counter.on = True
        event_id = f"ping-{pings}"  # as a phone sends them: a retry is known by its id
        answer = events.record(
            route.route_id,
            token,
            RouteEvent("location", iso_z(clock[0]), event_id, lat=lat, lng=lng),
        )
        counter.on = False
        pings += 1
        ping_writes += counter.items - before
        ping_units += counter.units - units_before
        for name, n in counter.by_operation.items():
            ping_operations[name] = ping_operations.get(name, 0) + n - operations.get(name, 0)
        ignored += answer.get("fix") == "ignored"

    lat, lng = DEPOT
    for stop in route.stops[: legs if legs is not None else stops]:
        planned_s = great_circle_m(lat, lng, stop.lat, stop.lng) * profile.detour_factor / speed
        actual_s = planned_s * rng.uniform(*pace)
        leg_start, (from_lat, from_lng) = clock[0], (lat, lng)
        t = PING_EVERY.total_seconds()
        while t < actual_s:
            clock[0] = leg_start + timedelta(seconds=t)
            share = t / actual_s
            ping(from_lat + (stop.lat - from_lat) * share, from_lng + (stop.lng - from_lng) * share)
            t += PING_EVERY.total_seconds()
        clock[0] = leg_start + timedelta(seconds=actual_s)
        lat, lng = stop.lat, stop.lng
        served_until = clock[0] + timedelta(seconds=SERVICE_S * rng.uniform(*pace))
        while clock[0] + PING_EVERY < served_until:
            clock[0] += PING_EVERY
            ping(lat, lng)
        clock[0] = served_until
        before = counter.items
        counter.on = True
        events.record(
            route.route_id,
            token,
            RouteEvent("delivered", iso_z(clock[0]), f"dlv-{stop.order_id}", stop.order_id),
        )
        counter.on = False
        door_events += 1
        door_writes += counter.items - before
    return {
        "stops": stops,
        "legs_driven": door_events,
        "pings": pings,
        "pings_ignored": ignored,
        "ping_writes": ping_writes,
        "writes_per_ping": round(ping_writes / pings, 3) if pings else 0.0,
        "target_writes_per_ping": TARGET_WRITES_PER_PING,
        "write_units_per_ping": round(ping_units / pings, 1) if pings else 0.0,
        "ping_writes_by_operation": ping_operations,
        "door_events": door_events,
        "writes_per_door_event": round(door_writes / door_events, 2) if door_events else 0.0,
        "route_item_kb": round(counter.largest_item_bytes / 1024, 1),
        "route_id": route.route_id,
        "ended_at": iso_z(clock[0]),
    }


def _main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stops", type=int, default=150)
    parser.add_argument("--legs", type=int, default=None, help="legs to drive (default: all)")
    parser.add_argument("--slow", type=float, default=1.2, help="slowest leg pace factor")
    args = parser.parse_args()
    import os

    from chalicelib.local.aws import EmbeddedAws, create_tables

    embedded = EmbeddedAws().start()
    try:
        os.environ.update(create_tables(embedded.client("dynamodb")))
        os.environ.setdefault("LASTMILE_GEOCODER", "none")
        bootstrap.reset()
        embedded.client("secretsmanager").create_secret(
            Name=bootstrap.settings().driver_token_secret_name,
            SecretString=secrets.token_urlsafe(48),
        )
        figures = writes_per_ping(args.stops, args.legs, (0.85, args.slow))
    finally:
        embedded.stop()
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
