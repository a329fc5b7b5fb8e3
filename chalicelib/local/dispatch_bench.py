"""`lastmile dispatch-bench`: one whole dispatch of N orders through the local runtime (HTTP API,
moto, the real state machine, the real planner in its own process), with wall time per step,
the AWS requests it made per order, and what those would cost at AWS list prices."""

from __future__ import annotations

import argparse
import json
import random
import secrets
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from chalicelib import bootstrap
from chalicelib.dispatch.workflow import OPTIMISER_MEMORY_MB, STATE_MACHINE_NAME
from chalicelib.domain.order import Address, Customer, OrderDraft, Parcel
from chalicelib.local.aws import free_port
from chalicelib.local.metering import DYNAMODB_READS, DYNAMODB_WRITES, PRICES, RequestCounter
from chalicelib.local.runtime import LocalRuntime
from chalicelib.orders.service import Action, Inbound

# AWS list prices (local/metering.py), by the names this report has always used.
PRICE = {
    name: PRICES[name].usd
    for name in (
        "dynamodb_write_unit",
        "dynamodb_read_unit",
        "state_transition",
        "lambda_request",
        "lambda_gb_second",
        "s3_put",
        "s3_get",
    )
}
TASK_MEMORY_GB = 1.0  # collect, build, commit (.chalice/config.json lambda_functions)


def _fleet(vehicles: int, capacity: int) -> list[dict[str, Any]]:
    start = datetime.now(UTC).replace(microsecond=0)
    shift = {"start": start.isoformat(), "end": (start + timedelta(hours=12)).isoformat()}
    return [
        {
            "vehicle_id": f"van-{n:02d}",
            "profile": "van",
            "capacity": {"parcels": capacity, "weight_kg": 900},
            "shift": shift,
        }
        for n in range(vehicles)
    ]


def _orders(merchant_id: str, n: int) -> None:
    """n ready orders over a 20 x 20 km city (placed through the service; not measured)."""
    rng = random.Random(1)  # noqa: S311 (benchmark data, the same every run)
    merchant = bootstrap.accounts().merchant(merchant_id)
    for i in range(n):
        draft = OrderDraft(
            external_id=f"bench-{i}",
            customer=Customer("Bench Customer", email="bench@example.com"),
            address=Address(
                "1 Bench Road",
                "London",
                "E1 1AA",
                "GB",
                lat=round(51.5074 + rng.uniform(-0.09, 0.09), 5),
                lng=round(-0.1278 + rng.uniform(-0.14, 0.14), 5),
            ),
            parcels=(Parcel(round(rng.uniform(0.5, 6.0), 1)),),
        )
        bootstrap.orders().ingest(merchant, Inbound("api", Action.UPSERT, draft.external_id, draft))


def _step_times(history: list[dict[str, Any]]) -> dict[str, float]:
    """Seconds spent in each state of the execution (a Map's iterations inside its own)."""
    entered: dict[str, datetime] = {}
    spent: Counter[str] = Counter()
    for event in history:
        kind = event["type"]
        details = event.get("stateEnteredEventDetails") or event.get("stateExitedEventDetails")
        if not details or not kind.endswith(("StateEntered", "StateExited")):
            continue
        name = details["name"]
        if kind.endswith("Entered"):
            entered.setdefault(name, event["timestamp"])
        elif name in entered:
            spent[name] += (event["timestamp"] - entered.pop(name)).total_seconds()
    return dict(spent)


def run(orders: int, vehicles: int, capacity: int, time_limit: int) -> dict[str, Any]:
    counter = RequestCounter()
    admin_key = "lmadm_" + secrets.token_urlsafe(16)
    runtime = LocalRuntime(
        port=free_port(),
        admin_key=admin_key,
        stripe_secret="whsec_" + secrets.token_hex(16),
        seed=False,
        fire_schedules=False,  # its polling is no part of a dispatch
    )
    runtime.start()
    try:
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {admin_key}"
        base = runtime.base_url
        depot = http.post(
            f"{base}/v1/depots",
            json={
                "name": "Bench depot",
                "lat": 51.5074,
                "lng": -0.1278,
                "timezone": "Europe/London",
                "dispatch": {"time_limit_s": time_limit},
            },
        ).json()["depot_id"]
        http.put(
            f"{base}/v1/depots/{depot}/vehicles", json={"vehicles": _fleet(vehicles, capacity)}
        )
        merchant = http.post(f"{base}/v1/merchants", json={"name": "Bench", "depot_id": depot})
        _orders(merchant.json()["merchant_id"], orders)

        counter.on = True
        started = time.monotonic()
        run_id = http.post(f"{base}/v1/depots/{depot}/dispatch").json()["run_id"]
        # Waiting on the execution, not by polling the API: polls would count as the run's.
        machine = bootstrap.settings().dispatch_state_machine_arn
        execution = machine.replace(":stateMachine:", ":execution:") + ":" + run_id
        sfn = runtime.aws.client("stepfunctions")
        while sfn.describe_execution(executionArn=execution)["status"] == "RUNNING":
            time.sleep(0.1)
        wall = time.monotonic() - started
        counter.on = False
        view = http.get(f"{base}/v1/dispatch-runs/{run_id}").json()
        history = sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]
        transitions = sum(1 for e in history if e["type"].endswith("StateEntered"))
        return _report(view, wall, _step_times(history), transitions, counter, orders)
    finally:
        runtime.stop()


def _report(
    view: dict[str, Any],
    wall: float,
    steps: dict[str, float],
    transitions: int,
    counter: RequestCounter,
    orders: int,
) -> dict[str, Any]:
    written = counter.items_written
    writes = written["single"] + written["transactional"]
    reads = counter.of("dynamodb", DYNAMODB_READS)
    invocations = counter.of("awslambda", {"Invoke"})
    s3_puts, s3_gets = counter.of("s3", {"put_object"}), counter.of("s3", {"get_object"})
    solve_s = steps.get("SolvePart", steps.get("Solve", 0.0))
    task_s = sum(v for k, v in steps.items() if k not in ("Solve", "SolvePart", "AnyOrders"))
    cost = {
        "dynamodb_writes": (written["single"] + 2 * written["transactional"])
        * PRICE["dynamodb_write_unit"],
        "dynamodb_reads": reads * PRICE["dynamodb_read_unit"],
        "step_functions": transitions * PRICE["state_transition"],
        "lambda": invocations * PRICE["lambda_request"]
        + task_s * TASK_MEMORY_GB * PRICE["lambda_gb_second"]
        + solve_s * OPTIMISER_MEMORY_MB / 1024 * PRICE["lambda_gb_second"],
        "s3": s3_puts * PRICE["s3_put"] + s3_gets * PRICE["s3_get"],
    }
    per_thousand = {k: round(v * 1000 / orders, 4) for k, v in cost.items()}
    return {
        "state_machine": STATE_MACHINE_NAME,
        "orders": orders,
        "status": view["status"],
        "planned": view["figures"].get("planned"),
        "unassigned": view["figures"].get("unassigned"),
        "routes": view["figures"].get("routes"),
        "distance_km": view["figures"].get("distance_km"),
        "wall_s": round(wall, 2),
        "step_s": {k: round(v, 2) for k, v in steps.items()},
        "solver_s": view["figures"].get("solve_s"),
        "workflow_overhead_s": round(wall - float(view["figures"].get("solve_s") or 0), 2),
        "per_order": {
            "dynamodb_items_written": round(writes / orders, 2),
            "dynamodb_write_requests": round(
                counter.of("dynamodb", DYNAMODB_WRITES | {"TransactWriteItems", "BatchWriteItem"})
                / orders,
                2,
            ),
            "dynamodb_reads": round(reads / orders, 2),
            "lambda_invocations": round(invocations / orders, 4),
            "state_transitions": round(transitions / orders, 4),
            "s3_requests": round((s3_puts + s3_gets) / orders, 4),
        },
        "target_dynamodb_writes_per_order": 10,
        "aws_cost_usd_per_1000_orders": per_thousand
        | {"total": round(sum(per_thousand.values()), 4)},
        "requests": {
            k: n for k, n in sorted(counter.requests.items()) if "DescribeExecution" not in k
        },
    }


def register(commands: Any) -> None:
    bench = commands.add_parser(
        "dispatch-bench",
        help="time one whole dispatch of N orders through the local runtime; count AWS requests",
    )
    bench.add_argument("--orders", type=int, default=1000)
    bench.add_argument("--vehicles", type=int, default=14)
    bench.add_argument("--capacity", type=int, default=90, help="parcels per vehicle")
    bench.add_argument("--time-limit", type=int, default=60, help="solver seconds (policy)")
    bench.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    report = run(args.orders, args.vehicles, args.capacity, args.time_limit)
    print(json.dumps(report, indent=2))
    return 0 if report["status"] == "succeeded" else 1
