"""`lastmile load-bench`: a delivery day through the local runtime (storefronts' signed webhooks
from many clients, a dispatch run, drivers' route events in simulated time), with intake
latency, errors, what was lost, the DynamoDB requests per delivered order and per ping, the
Lambda invocations, and what a day like it would cost on AWS at list prices."""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

from chalicelib import jobs
from chalicelib.dispatch.workflow import OPTIMISER, OPTIMISER_MEMORY_MB
from chalicelib.local import delivery_day as day
from chalicelib.local.metering import (
    LAMBDA_PLATFORM_LOG_BYTES,
    LogBytes,
    RequestCounter,
    memory_mb,
    price_list,
    set_tag,
    tag_requests,
    usd,
)

PING_CADENCE_S = 15.0  # what drivers' phones send in service; the cost is given at this cadence
TARGET_COST_PER_1000 = 0.50  # USD per 1,000 delivered orders, SMS and email fees excluded
TARGET_WRITES_PER_PING = 1.2
# The scheduled functions (app.py) and how often a day EventBridge runs them.
SCHEDULES_PER_DAY = {"webhook_retries": 1440, "locker_sweep": 96, "reconcile": 96}
# Tags of the work a deployment would not do: the bench's own set-up and read-back.
NOT_BILLED = {"other", "api:setup", "api:accounting"}


def run(
    orders: int,
    concurrency: int,
    *,
    vehicles: int | None = None,
    capacity: int = 150,
    ping_every_s: float = PING_CADENCE_S,
    fail_share: float = 0.05,
    time_limit_s: int = 10,
    settle_timeout_s: float = 3600,
) -> dict[str, Any]:
    tag_requests()
    counter = RequestCounter()
    runtime = day.start_runtime()
    logs = LogBytes()
    started = time.monotonic()
    try:
        http = day.Http(runtime.base_url)
        fleet = vehicles or max(1, math.ceil(orders * 1.25 / capacity))
        depot = day.set_up(
            runtime, http, vehicles=fleet, capacity=capacity, time_limit_s=time_limit_s
        )
        counter.on = True
        intake = day.send_orders(http, depot, orders, concurrency)
        plan = day.dispatch(runtime, http, depot)
        where = {order_id: person for order_id, (_, _, person) in intake.accepted.items()}
        driving = day.drive(
            http,
            plan,
            where,
            ping_every_s=ping_every_s,
            fail_share=fail_share,
            concurrency=concurrency,
            cadence_s=PING_CADENCE_S,
        )
        settle_s = day.wait_for_outbox(runtime, settle_timeout_s)  # notify catching up
        schedules = _run_schedules_once()
        counter.on = False
        books = day.account(runtime, http, depot, intake.accepted)
        return _report(
            orders=orders,
            concurrency=concurrency,
            ping_every_s=ping_every_s,
            intake=intake,
            plan=plan,
            driving=driving,
            books=books,
            counter=counter,
            runtime=runtime,
            schedules=schedules,
            log_bytes=logs.bytes,
            walls={
                "intake": intake.wall_s,
                "dispatch": plan.wall_s,
                "drive": driving.wall_s,
                "outbox_settle": settle_s,
                "total": time.monotonic() - started,
            },
        )
    finally:
        logs.close()
        runtime.stop()


def _run_schedules_once() -> dict[str, float]:
    """Each scheduled job the local runtime can run, once, timed (reconcile would call the
    storefronts' real APIs): their cost a day is that of one run times the runs a day."""
    from datetime import UTC, datetime

    seconds = {}
    for name in ("webhook_retries", "locker_sweep"):
        set_tag(f"schedule:{name}")
        began = time.monotonic()
        try:
            jobs.SCHEDULED[name](datetime.now(UTC))
        finally:
            set_tag(None)
        seconds[name] = time.monotonic() - began
    return seconds


def _figure(value: Any, target: Any, unit: str = "", ok: bool | None = None) -> dict[str, Any]:
    return {"value": value, "target": target, "unit": unit, "met": ok}


def _report(
    *,
    orders: int,
    concurrency: int,
    ping_every_s: float,
    intake: day.Intake,
    plan: day.Dispatch,
    driving: day.Driving,
    books: day.Accounting,
    counter: RequestCounter,
    runtime: Any,
    schedules: dict[str, float],
    log_bytes: int,
    walls: dict[str, float],
) -> dict[str, Any]:
    delivered = books.order_statuses.get("delivered", 0)
    # Pings sent sparser than phones send them are costed at the phones' cadence: what each
    # cost, times the pings phones would have sent on the same legs.
    pings = driving.events.get("location", 0)
    scale = driving.pings_due / pings if pings else 1.0
    tags = {t: dict(v) for t, v in counter.by_tag.items()}

    def billed(key: str) -> float:
        return sum(
            v.get(key, 0.0) * (scale if t == "api:location" else 1.0)
            for t, v in tags.items()
            if t not in NOT_BILLED
        )

    ping = tags.get("api:location", {})
    memory = memory_mb()
    api_gb = memory["api"] / 1024
    # Lambda: the API's requests (their latency at the client: an upper bound of the billed
    # duration), the notify batches, the workflow's tasks, the schedules (a day's runs).
    api_requests = {
        "intake": len(intake.latencies_s),
        "dispatch": 1,
        "routes": 1,
        **{kind: n for kind, n in driving.events.items()},
    }
    api_seconds = sum(intake.latencies_s) + sum(driving.latencies_s.values())
    api_requests_billed = sum(api_requests.values()) + pings * (scale - 1)
    api_seconds_billed = api_seconds + driving.latencies_s.get("location", 0.0) * (scale - 1)
    poller = runtime.notify_poller
    workflow = runtime.workflow
    tasks = dict(workflow.invocations) if workflow else {}
    task_gb_s = sum(
        s * (OPTIMISER_MEMORY_MB if f == OPTIMISER else memory.get(f, memory["api"])) / 1024
        for f, s in (workflow.busy_s.items() if workflow else [])
    )
    notify_gb_s = (poller.busy_s if poller else 0.0) * memory.get("notify", memory["api"]) / 1024
    per_day = {name: SCHEDULES_PER_DAY[name] for name in schedules}
    schedule_gb_s = sum(
        schedules[n] * per_day[n] * memory.get(n, memory["api"]) / 1024 for n in schedules
    )
    schedule_units = {
        kind: sum(
            tags.get(f"schedule:{n}", {}).get(f"dynamodb:{kind}_units", 0.0) * (per_day[n] - 1)
            for n in schedules
        )
        for kind in ("write", "read")
    }
    invocations_billed = (
        api_requests_billed
        + (poller.batches if poller else 0)
        + sum(tasks.values())
        + sum(SCHEDULES_PER_DAY.values())
    )
    log_gb = (log_bytes + invocations_billed * LAMBDA_PLATFORM_LOG_BYTES) / 1e9
    cost = {
        "dynamodb_writes": usd(
            "dynamodb_write_unit", billed("dynamodb:write_units") + schedule_units["write"]
        ),
        "dynamodb_reads": usd(
            "dynamodb_read_unit", billed("dynamodb:read_units") + schedule_units["read"]
        ),
        "lambda_requests": usd("lambda_request", invocations_billed),
        "lambda_duration": usd(
            "lambda_gb_second",
            api_seconds_billed * api_gb + notify_gb_s + task_gb_s + schedule_gb_s,
        ),
        "api_gateway": usd("api_gateway_rest", api_requests_billed),
        "step_functions": usd("state_transition", plan.transitions),
        "sqs": usd("sqs_request", billed("sqs:requests")),
        "cloudwatch_logs": usd("logs_ingested_gb", log_gb),
        "s3": usd("s3_put", counter.of("s3", {"put_object"}))
        + usd("s3_get", counter.of("s3", {"get_object"})),
    }
    per_1000 = {k: round(v * 1000 / delivered, 5) if delivered else None for k, v in cost.items()}
    total = round(sum(v for v in per_1000.values() if v is not None), 4) if delivered else None
    errors = sum(intake.errors.values()) + sum(driving.errors.values())

    def per(key: str, n: float) -> float | None:
        return round(billed(key) / n, 3) if n else None

    ping_items = round(ping.get("dynamodb:items_written", 0.0) / pings, 3) if pings else None
    return {
        "benchmark": "load-bench",
        "orders": orders,
        "concurrency": concurrency,
        "ping_every_simulated_s": ping_every_s,
        "pings": {"sent": pings, "costed": driving.pings_due, "every_s_costed": PING_CADENCE_S},
        "figures": {
            "intake_p50_ms": _figure(intake.percentile_ms(0.50), None, "ms"),
            "intake_p99_ms": _figure(intake.percentile_ms(0.99), None, "ms"),
            "errors": _figure(errors, 0, "", errors == 0),
            "orders_lost": _figure(books.orders_lost, 0, "", books.orders_lost == 0),
            "orders_stuck": _figure(books.orders_stuck, 0, "", books.orders_stuck == 0),
            "messages_lost": _figure(books.messages_lost, 0, "", books.messages_lost == 0),
            "messages_duplicated": _figure(
                books.messages_duplicated, 0, "", books.messages_duplicated == 0
            ),
            "dynamodb_items_written_per_ping": _figure(
                ping_items,
                TARGET_WRITES_PER_PING,
                "items",
                None if ping_items is None else ping_items <= TARGET_WRITES_PER_PING,
            ),
            "aws_usd_per_1000_delivered": _figure(
                total,
                TARGET_COST_PER_1000,
                "USD",
                None if total is None else total <= TARGET_COST_PER_1000,
            ),
        },
        "wall_s": {k: round(v, 1) for k, v in walls.items()},
        "intake": {
            "sent": intake.sent,
            "accepted": len(intake.accepted),
            "errors": dict(intake.errors),
            "per_second": round(intake.sent / intake.wall_s, 1) if intake.wall_s else None,
        },
        "dispatch": {
            "status": plan.status,
            "routes": len(plan.routes),
            "stops": sum(len(r["stops"]) for r in plan.routes),
            "unassigned": plan.unassigned,
            "state_transitions": plan.transitions,
        },
        "driving": {
            "events": dict(driving.events),
            "errors": dict(driving.errors),
            "mean_ms": {
                k: round(driving.latencies_s[k] / n * 1000, 1)
                for k, n in driving.events.items()
                if n
            },
        },
        "accounting": books.as_dict(),
        "dynamodb": {
            "per_delivered_order": {
                "write_units": per("dynamodb:write_units", delivered),
                "read_units": per("dynamodb:read_units", delivered),
                "items_written": per("dynamodb:items_written", delivered),
                "write_requests": per("dynamodb:write_requests", delivered),
                "read_requests": per("dynamodb:read_requests", delivered),
            },
            "per_ping": {
                k.removeprefix("dynamodb:"): round(v / pings, 3)
                for k, v in ping.items()
                if pings and k.startswith("dynamodb:")
            },
            "by_function": {
                t: {k: round(x, 1) for k, x in sorted(v.items())}
                for t, v in sorted(tags.items())
                if t not in NOT_BILLED
            },
            "note": "units estimated from item sizes (local/metering.py); pings costed at "
            f"one every {PING_CADENCE_S:g} s: {driving.pings_due} for the {pings} sent",
        },
        "lambda_invocations": {
            "api_requests": api_requests,
            "notify_batches": poller.batches if poller else 0,
            "dispatch_tasks": tasks,
            "schedules_per_day": SCHEDULES_PER_DAY,
            "schedule_run_s": {k: round(v, 3) for k, v in schedules.items()},
            "memory_mb": memory | {OPTIMISER: OPTIMISER_MEMORY_MB},
        },
        "log_bytes": log_bytes,
        "aws_cost_usd_per_1000_delivered": per_1000 | {"total": total},
        "cost_note": "excludes SMS and email fees; the schedules' day (webhook_retries, "
        "locker_sweep: one run measured x runs a day; reconcile: requests only) is spread over "
        "this run's delivered orders",
        "prices": price_list(),
    }


def register(commands: Any) -> None:
    bench = commands.add_parser(
        "load-bench",
        help="a delivery day through the local runtime: intake latency, errors, losses, "
        "DynamoDB requests per order and per ping, Lambda invocations, cost per 1,000 orders",
    )
    bench.add_argument("--orders", type=int, default=10_000)
    bench.add_argument("--concurrency", type=int, default=50, help="storefront clients at once")
    bench.add_argument("--vehicles", type=int, default=None, help="default: enough for all")
    bench.add_argument("--capacity", type=int, default=150, help="parcels per vehicle")
    bench.add_argument(
        "--ping-every",
        type=float,
        default=PING_CADENCE_S,
        help="simulated seconds between a van's location pings (costed at 15 s whatever it is)",
    )
    bench.add_argument("--fail-share", type=float, default=0.05, help="doors nobody opens")
    bench.add_argument("--time-limit", type=int, default=10, help="solver seconds (policy)")
    bench.add_argument("--out", default=None, help="also write the report (JSON) to this file")
    bench.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    report = run(
        args.orders,
        args.concurrency,
        vehicles=args.vehicles,
        capacity=args.capacity,
        ping_every_s=args.ping_every,
        fail_share=args.fail_share,
        time_limit_s=args.time_limit,
    )
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    # Speed and cost are figures to read; what was lost or failed is a failure.
    correct = ("errors", "orders_lost", "orders_stuck", "messages_lost", "messages_duplicated")
    return 0 if all(report["figures"][name]["met"] for name in correct) else 1
