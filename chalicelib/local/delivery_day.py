"""A delivery day through the local runtime, for the load and fault benchmarks: storefronts'
signed webhooks from many clients at once, a dispatch run, drivers' route events in simulated
time (pings every few seconds of it, sent as fast as the runtime takes them), and the
accounting of what became of every order and every message the customers were owed."""

from __future__ import annotations

import errno
import math
import random
import secrets
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from chalicelib import bootstrap
from chalicelib.domain.geo import great_circle_m
from chalicelib.local.aws import free_port
from chalicelib.local.capture import captured_messages
from chalicelib.local.dispatch import execution_arn
from chalicelib.local.metering import TAG_HEADER
from chalicelib.local.runtime import LocalRuntime
from chalicelib.local.storefront_senders import PLATFORMS, Customer, Shop, customers, order_created
from chalicelib.notify.messages import MESSAGE_TYPES, Channel

DEPOT_AT = (51.5074, -0.1278)
SERVICE = timedelta(minutes=1)  # at the door, from arriving to delivered
SETTLED_FOR_S = 3.0  # the outbox is drained when nothing new was sent for this long


def start_runtime(attempts: int = 3) -> LocalRuntime:
    """The local runtime in this process (as `make run` and the dispatch bench start it), with
    no demo data and no timers: the benchmark runs the scheduled jobs when it means to. A port
    taken by another process between free_port() and the bind is tried again elsewhere."""
    for attempt in range(attempts):
        runtime = LocalRuntime(
            port=free_port(),
            admin_key="lmadm_" + secrets.token_urlsafe(16),
            stripe_secret="whsec_" + secrets.token_hex(16),
            seed=False,
            fire_schedules=False,
        )
        try:
            return runtime.start()
        except OSError as exc:
            runtime.stop()
            if exc.errno != errno.EADDRINUSE or attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


class Http:
    """One requests session per client thread, each request tagged with what it is for (so
    the AWS requests it causes are counted against it, local/metering.py). With `retries`,
    a 429, a 5xx or a failed connection is sent again after a doubling pause, as storefronts
    and the drivers' app do (the same body: the same event id)."""

    def __init__(self, base_url: str, retries: int = 0) -> None:
        self.base_url = base_url
        self.retries = retries
        self.retried: Counter[str] = Counter()  # by tag
        self.server_errors: Counter[str] = (
            Counter()
        )  # "intake 503": each 5xx answer, retried or not
        self._lock = threading.Lock()
        self._local = threading.local()

    def request(
        self, method: str, path: str, tag: str, *, token: str | None = None, **kwargs: Any
    ) -> tuple[requests.Response | None, float]:
        """The last response (None when the connection failed) and the latency of the first
        attempt in seconds."""
        response, latency = self._once(method, path, tag, token, kwargs)
        for attempt in range(self.retries):
            if response is not None and response.status_code < 500 and response.status_code != 429:
                break
            with self._lock:
                self.retried[tag] += 1
            time.sleep(0.2 * 2**attempt)
            response, _ = self._once(method, path, tag, token, kwargs)
        return response, latency

    def _once(
        self, method: str, path: str, tag: str, token: str | None, kwargs: dict[str, Any]
    ) -> tuple[requests.Response | None, float]:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        headers = {TAG_HEADER: tag, **kwargs.get("headers", {})}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        rest = {k: v for k, v in kwargs.items() if k != "headers"}
        started = time.perf_counter()
        try:
            response = session.request(
                method, self.base_url + path, headers=headers, timeout=120, **rest
            )
        except requests.RequestException:
            response = None
        latency = time.perf_counter() - started
        if response is not None and response.status_code >= 500:
            with self._lock:
                self.server_errors[f"{tag} {response.status_code}"] += 1
        return response, latency


@dataclass
class Depot:
    depot_id: str
    shops: list[Shop]


def set_up(
    runtime: LocalRuntime, http: Http, *, vehicles: int, capacity: int, time_limit_s: int
) -> Depot:
    """A depot with its fleet on a 12-hour shift from now, and one merchant per platform."""
    admin = runtime.admin_key
    made, _ = http.request(
        "POST",
        "/v1/depots",
        "setup",
        token=admin,
        json={
            "name": "Bench depot",
            "lat": DEPOT_AT[0],
            "lng": DEPOT_AT[1],
            "timezone": "Europe/London",
            "dispatch": {"time_limit_s": time_limit_s},
        },
    )
    assert made is not None and made.status_code == 201, made and made.text
    depot_id = made.json()["depot_id"]
    start = datetime.now(UTC).replace(microsecond=0)
    shift = {"start": start.isoformat(), "end": (start + timedelta(hours=12)).isoformat()}
    fleet = [
        {
            "vehicle_id": f"van-{n:03d}",
            "profile": "van",
            "capacity": {"parcels": capacity, "weight_kg": capacity * 10},
            "shift": shift,
        }
        for n in range(vehicles)
    ]
    put, _ = http.request(
        "PUT", f"/v1/depots/{depot_id}/vehicles", "setup", token=admin, json={"vehicles": fleet}
    )
    assert put is not None and put.ok, put and put.text
    shops = []
    for platform in PLATFORMS:
        secret = f"{platform}_bench_{secrets.token_hex(8)}"
        body: dict[str, Any] = {"name": f"Bench {platform}", "depot_id": depot_id}
        if platform != "generic":
            body[f"{platform}_secret"] = secret
        merchant, _ = http.request("POST", "/v1/merchants", "setup", token=admin, json=body)
        assert merchant is not None and merchant.status_code == 201, merchant and merchant.text
        answer = merchant.json()
        shops.append(
            Shop(
                platform,
                answer["merchant_id"],
                answer["api_key"],
                answer["webhook_secret"] if platform == "generic" else secret,
            )
        )
    return Depot(depot_id, shops)


@dataclass
class Intake:
    """What the storefronts' webhooks came to."""

    sent: int = 0
    latencies_s: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)  # "status 500", "connection"
    # order_id -> (shop, external id, customer), for every webhook answered 2xx with an order
    accepted: dict[str, tuple[Shop, str, Customer]] = field(default_factory=dict)
    wall_s: float = 0.0

    def percentile_ms(self, q: float) -> float | None:
        if not self.latencies_s:
            return None
        ordered = sorted(self.latencies_s)
        return round(ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)] * 1000, 1)


def send_orders(http: Http, depot: Depot, n: int, concurrency: int, seed: int = 1) -> Intake:
    """n order-created webhooks, round-robin over the platforms, from `concurrency` clients."""
    intake = Intake()
    people = customers(n, DEPOT_AT, seed)
    run = secrets.token_hex(3)  # external ids unique per bench run
    lock = threading.Lock()

    def send(i: int) -> None:
        shop = depot.shops[i % len(depot.shops)]
        external_id = f"{run}{i:06d}"
        hook = order_created(shop, people[i], external_id)
        response, latency = http.request(
            "POST", hook.path, "intake", data=hook.body, headers=hook.headers
        )
        with lock:
            intake.sent += 1
            intake.latencies_s.append(latency)
            if response is None:
                intake.errors["connection"] += 1
            elif not response.ok:
                intake.errors[f"status {response.status_code}"] += 1
            elif order_id := response.json().get("order_id"):
                intake.accepted[order_id] = (shop, external_id, people[i])
            else:
                intake.errors["2xx without an order"] += 1

    started = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(send, range(n)))
    intake.wall_s = time.monotonic() - started
    return intake


@dataclass
class Dispatch:
    run_id: str
    status: str
    routes: list[dict[str, Any]]
    unassigned: int
    transitions: int
    wall_s: float
    started_at: datetime


def dispatch(runtime: LocalRuntime, http: Http, depot: Depot, timeout_s: float = 3600) -> Dispatch:
    """One dispatch run of the depot, waited on through Step Functions (not API polls, which
    would count as the run's)."""
    started_at = datetime.now(UTC).replace(microsecond=0)
    started = time.monotonic()
    answer, _ = http.request(
        "POST", f"/v1/depots/{depot.depot_id}/dispatch", "dispatch", token=runtime.admin_key
    )
    assert answer is not None and answer.status_code == 202, answer and answer.text
    run_id = answer.json()["run_id"]
    arn = execution_arn(bootstrap.settings().dispatch_state_machine_arn, run_id)
    sfn = runtime.aws.client("stepfunctions")
    while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
        if time.monotonic() - started > timeout_s:
            break
        time.sleep(0.2)
    wall = time.monotonic() - started
    view, _ = http.request("GET", f"/v1/dispatch-runs/{run_id}", "routes", token=runtime.admin_key)
    assert view is not None and view.ok, view and view.text
    body = view.json()
    history = sfn.get_paginator("get_execution_history").paginate(executionArn=arn)
    transitions = sum(
        1 for page in history for e in page["events"] if e["type"].endswith("StateEntered")
    )
    return Dispatch(
        run_id,
        body["status"],
        body.get("routes", []),
        len(body.get("unassigned", [])),
        transitions,
        wall,
        started_at,
    )


@dataclass
class Driving:
    events: Counter[str] = field(default_factory=Counter)  # sent, by type
    errors: Counter[str] = field(default_factory=Counter)  # "location: status 500"
    latencies_s: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    pings_due: int = 0  # what phones pinging every `cadence_s` would have sent on these legs
    wall_s: float = 0.0


def _legs(
    start: tuple[float, float],
    end: tuple[float, float],
    leave: datetime,
    arrive: datetime,
    every_s: float,
) -> Iterator[tuple[datetime, float, float]]:
    """Positions every `every_s` seconds on the straight line from start to end."""
    span = (arrive - leave).total_seconds()
    steps = int(span // every_s)
    for k in range(1, steps + 1):
        share = k * every_s / span
        yield (
            leave + timedelta(seconds=k * every_s),
            round(start[0] + (end[0] - start[0]) * share, 6),
            round(start[1] + (end[1] - start[1]) * share, 6),
        )


def drive(
    http: Http,
    plan: Dispatch,
    where: dict[str, Customer],
    *,
    ping_every_s: float,
    fail_share: float,
    concurrency: int,
    seed: int = 1,
    cadence_s: float = 15.0,
) -> Driving:
    """Each route driven in simulated time from the run's start: departed (again on each trip
    of a vehicle that reloads), then for each stop
    the van's position every `ping_every_s` along the way (at least once on a leg where a
    phone pinging every `cadence_s` would ping, so that pings sent sparser still sample every
    leg), arrived at its ETA, delivered (or, for `fail_share` of them, failed: nobody home).
    Routes run side by side."""
    driving = Driving()
    lock = threading.Lock()
    rng = random.Random(seed)  # noqa: S311 (which doors nobody opens: benchmark data)
    fails = {
        stop["order_id"]
        for route in plan.routes
        for stop in route["stops"]
        if rng.random() < fail_share
    }

    def post(route: dict[str, Any], event: dict[str, Any]) -> None:
        kind = event["type"]
        response, latency = http.request(
            "POST",
            f"/v1/routes/{route['route_id']}/events",
            kind,
            token=route["driver_token"],
            json=event,
        )
        with lock:
            driving.events[kind] += 1
            driving.latencies_s[kind] += latency
            if response is None:
                driving.errors[f"{kind}: connection"] += 1
            elif response.status_code != 202:
                driving.errors[f"{kind}: status {response.status_code}"] += 1

    def one_route(route: dict[str, Any]) -> None:
        at = plan.started_at
        here = DEPOT_AT
        n = 0

        def event(kind: str, when: datetime, **extra: Any) -> None:
            nonlocal n
            n += 1
            body = {"type": kind, "event_id": f"{route['route_id']}-{n}", "at": when.isoformat()}
            post(route, body | extra)

        event("departed", at)
        trip = 1
        for stop in route["stops"]:
            customer = where.get(stop["order_id"])
            if customer is None:
                continue  # not one of this bench's orders
            if stop.get("trip", 1) > trip:
                # Back at the depot to reload: the next trip leaves when planned, or later.
                trip = stop["trip"]
                planned = next(t for t in route["trips"] if t["trip"] == trip)["depart_at"]
                back = at + timedelta(seconds=great_circle_m(*here, *DEPOT_AT) / 10)
                at = max(back, datetime.fromisoformat(planned.replace("Z", "+00:00")))
                here = DEPOT_AT
                event("departed", at)
            there = (customer.lat, customer.lng)
            eta = datetime.fromisoformat(stop["eta"].replace("Z", "+00:00"))
            arrive = max(eta, at + timedelta(seconds=great_circle_m(*here, *there) / 10))
            due = int((arrive - at).total_seconds() // cadence_s)
            pings = list(_legs(here, there, at, arrive, ping_every_s))
            if due and not pings:
                pings = list(_legs(here, there, at, arrive, (arrive - at).total_seconds() / 2))[:1]
            with lock:
                driving.pings_due += due
            for when, lat, lng in pings:
                event("location", when, lat=lat, lng=lng)
            event("arrived", arrive, order_id=stop["order_id"])
            at = arrive + SERVICE
            if stop["order_id"] in fails:
                event("failed", at, order_id=stop["order_id"], reason="not_home")
            else:
                event("delivered", at, order_id=stop["order_id"], proof={"safe_place": "porch"})
            here = there

    started = time.monotonic()
    with ThreadPoolExecutor(max(1, min(concurrency, len(plan.routes)))) as pool:
        list(pool.map(one_route, plan.routes))
    driving.wall_s = time.monotonic() - started
    return driving


def wait_for_outbox(
    runtime: LocalRuntime, timeout_s: float, settled_for_s: float = SETTLED_FOR_S
) -> float:
    """Wait until the notify consumer has read the outbox's stream to its end and found nothing
    new for `settled_for_s` (a failed batch, waiting to be read again, is not the end); the
    seconds waited."""
    poller = runtime.notify_poller
    started = time.monotonic()
    calm_since: float | None = None
    while poller is not None and time.monotonic() - started < timeout_s:
        if not poller.caught_up:
            calm_since = None
        elif calm_since is None:
            calm_since = time.monotonic()
        elif time.monotonic() - calm_since >= settled_for_s:
            break
        time.sleep(0.25)
    return time.monotonic() - started


@dataclass
class Accounting:
    """What became of the orders and of the messages their customers were owed."""

    orders_accepted: int
    orders_found: int
    orders_lost: int  # accepted by a webhook, not found afterwards
    orders_duplicated: int  # one storefront order stored twice
    orders_stuck: int  # planned or out for delivery with the day over
    order_statuses: dict[str, int]
    messages_expected: int  # customer messages in the outbox x channels
    messages_sent: int
    messages_refused: int  # the vendor refused for good, or nothing to send to: accounted
    messages_lost: int  # owed, never sent nor accounted
    messages_duplicated: int  # captured more often than sent once per message and channel
    notification_states: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


IN_FLIGHT = {"planned", "out_for_delivery"}


def account(
    runtime: LocalRuntime, http: Http, depot: Depot, accepted: dict[str, tuple[Shop, str, Customer]]
) -> Accounting:
    """Every accepted order read back (by its merchant, through the API) and every customer
    message owed by the outbox checked against the notification log and what the local
    vendors captured: per order and channel, owed = sent (captured once) + refused."""
    found: dict[str, dict[str, Any]] = {}
    duplicated = 0
    for shop in depot.shops:
        cursor: str | None = None
        seen: Counter[str] = Counter()
        while True:
            path = "/v1/orders?limit=200" + (f"&cursor={cursor}" if cursor else "")
            page, _ = http.request("GET", path, "accounting", token=shop.api_key)
            assert page is not None and page.ok, page and page.text
            body = page.json()
            # Paged ({items, next_cursor}, the contract) or, before paging, {orders} whole.
            for order in body.get("items", body.get("orders", [])):
                found[order["order_id"]] = order
                seen[order["external_id"]] += 1
            cursor = body.get("next_cursor")
            if not cursor:
                break
        duplicated += sum(n - 1 for n in seen.values() if n > 1)
    statuses = Counter(str(o["status"]) for o in found.values() if o["order_id"] in accepted)
    owed = _owed_messages(runtime)
    captured = Counter((str(m.get("order_id")), str(m["channel"])) for m in captured_messages())
    states: Counter[str] = Counter()
    sent: Counter[tuple[str, str]] = Counter()
    refused: Counter[tuple[str, str]] = Counter()
    notifications = bootstrap.notifications()
    for order_id in {order for order, _ in owed}:
        log = notifications.list_for_order(order_id)
        for channel in Channel:
            for record in log.get(str(channel), []):
                states[record["state"]] += 1
                if record["state"] == "sent":
                    sent[(order_id, str(channel))] += 1
                elif record["state"] in ("failed", "skipped"):
                    refused[(order_id, str(channel))] += 1
    lost = sum(
        max(0, n - sent[key] - refused[key]) + max(0, sent[key] - captured[key])
        for key, n in owed.items()
    )
    duplicates = sum(max(0, captured[key] - sent[key]) for key in set(captured) | set(owed))
    return Accounting(
        orders_accepted=len(accepted),
        orders_found=sum(1 for order_id in accepted if order_id in found),
        orders_lost=sum(1 for order_id in accepted if order_id not in found),
        orders_duplicated=duplicated,
        orders_stuck=sum(n for s, n in statuses.items() if s in IN_FLIGHT),
        order_statuses=dict(sorted(statuses.items())),
        messages_expected=sum(owed.values()),
        messages_sent=sum(sent.values()),
        messages_refused=sum(refused.values()),
        messages_lost=lost,
        messages_duplicated=duplicates,
        notification_states=dict(sorted(states.items())),
    )


def _owed_messages(runtime: LocalRuntime) -> Counter[tuple[str, str]]:
    """(order id, channel) -> customer messages the outbox holds for it: every message of a
    type customers hear about, on both channels (every bench customer has an email and a
    phone, and no bench merchant switched a message off)."""
    dynamodb = runtime.aws.client("dynamodb")
    owed: Counter[tuple[str, str]] = Counter()
    pages = dynamodb.get_paginator("scan").paginate(TableName=bootstrap.settings().outbox_table)
    for item in (i for page in pages for i in page["Items"]):
        kind, order_id = item.get("type", {}).get("S"), item.get("order_id", {}).get("S")
        if kind in MESSAGE_TYPES and order_id:
            for channel in Channel:
                owed[(order_id, str(channel))] += 1
    return owed
