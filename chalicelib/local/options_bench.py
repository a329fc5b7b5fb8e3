"""`lastmile options-bench`: quote latency of POST /v1/delivery-options through the local
runtime against a day whose slots already hold 1,000 booked orders (each quote reads every
slot's summary and held seats and writes a hold per option): one quote at a time (what a
deployed quote sees, each in a Lambda of its own) against the target, then bursts of
concurrent quotes, which in this one process queue at the DynamoDB stand-in."""

from __future__ import annotations

import argparse
import json
import math
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from chalicelib import bootstrap
from chalicelib.delivery_options.capacity import slots
from chalicelib.local import delivery_day as day
from chalicelib.local.metering import TAG_HEADER, RequestCounter, tag_requests
from chalicelib.store.delivery_options import SUMMARY, booked_sk, seat_sk, slot_pk
from chalicelib.store.models.delivery_options import SeatItem, SlotSummaryItem

# What a checkout page can wait for: the options load while the customer fills the address.
TARGET_P50_MS = 300.0
TARGET_P99_MS = 1000.0


def _book_day(depot_id: str, booked: int) -> int:
    """`booked` orders already booked into the depot's slots (one parcel each), written as the
    redeemed seats they are, spread evenly over the day's slots."""
    found = slots(bootstrap.accounts().fleet(depot_id), datetime.now(UTC))
    per_slot = math.ceil(booked / len(found))
    written = 0
    with SeatItem.batch_write() as batch:
        for s in found:
            indices = set(range(min(per_slot, s.seats, booked - written)))
            for n in indices:
                batch.save(
                    SeatItem(
                        slot_pk(depot_id, s.key),
                        booked_sk(seat_sk(n)),
                        state="booked",
                        option_id=f"opt_bench_{written}",
                        hold_until=0,
                        order_id=f"ord_bench_{written}",
                    )
                )
                written += 1
            if indices:
                batch.save(SlotSummaryItem(slot_pk(depot_id, s.key), SUMMARY, booked=indices))
    return written


def _percentiles(values: list[float]) -> tuple[float | None, float | None]:
    ordered = sorted(values)
    if not ordered:
        return None, None
    p99 = ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]
    return round(statistics.median(ordered), 1), round(p99, 1)


def run(booked: int, concurrency: int, rounds: int, vehicles: int, alone: int) -> dict[str, Any]:
    counter = RequestCounter()  # before the runtime: it counts what moto answers, by tag
    tag_requests()
    runtime = day.start_runtime()
    try:
        admin = {"Authorization": f"Bearer {runtime.admin_key}"}
        base = runtime.base_url
        depot = requests.post(
            f"{base}/v1/depots",
            headers=admin,
            json={"name": "Options bench", "lat": 51.5, "lng": -0.12, "timezone": "Europe/London"},
            timeout=30,
        ).json()["depot_id"]
        start = datetime.now(UTC).replace(microsecond=0)
        shift = {"start": start.isoformat(), "end": (start + timedelta(hours=12)).isoformat()}
        fleet: list[dict[str, Any]] = [
            {
                "vehicle_id": f"van-{n:03d}",
                "profile": "van",
                "capacity": {"parcels": 150, "weight_kg": 1500},
                "shift": shift,
            }
            for n in range(vehicles)
        ]
        put = requests.put(
            f"{base}/v1/depots/{depot}/vehicles",
            headers=admin,
            json={"vehicles": fleet},
            timeout=30,
        )
        assert put.ok, put.text
        merchant = requests.post(
            f"{base}/v1/merchants",
            headers=admin,
            json={"name": "Bench", "depot_id": depot},
            timeout=30,
        ).json()
        shop = {"Authorization": f"Bearer {merchant['api_key']}"}
        prices: dict[str, Any] = {
            "currency": "EUR",
            "prices": {"standard": 490, "express": 1290, "slot": 790},
        }
        assert requests.put(f"{base}/v1/price-list", headers=shop, json=prices, timeout=30).ok
        written = _book_day(depot, booked)
        latencies: list[float] = []
        offered: list[int] = []
        errors: list[int] = []
        lock = threading.Lock()
        body: dict[str, Any] = {
            "address": {"lat": 51.51, "lng": -0.11},
            "parcels": [{"weight_kg": 1.5}],
        }

        def quote(n: int) -> None:
            began = time.perf_counter()
            try:
                answer = requests.post(
                    f"{base}/v1/delivery-options",
                    headers={**shop, TAG_HEADER: f"quote-{n}"},
                    json=body,
                    timeout=300,
                )
            except requests.RequestException:
                with lock:
                    errors.append(0)  # no answer within five minutes
                return
            elapsed = (time.perf_counter() - began) * 1000
            with lock:
                if answer.status_code == 200:
                    latencies.append(elapsed)
                    offered.append(len(answer.json()["options"]))
                else:
                    errors.append(answer.status_code)

        def calls_per_quote() -> float:
            quotes = [v for tag, v in counter.by_tag.items() if tag.startswith("api:quote-")]
            total = sum(v["dynamodb:requests"] for v in quotes)
            return round(total / len(quotes), 1) if quotes else 0.0

        quote(-1)  # warm: the first request pays for imports and connections
        latencies.clear()
        offered.clear()
        # One quote at a time: what each quote sees deployed, where every concurrent request
        # has a Lambda of its own and DynamoDB serves them side by side.
        counter.on = True
        for n in range(alone):
            quote(n)
        alone_p50, alone_p99 = _percentiles(latencies)
        alone_calls = calls_per_quote()
        alone_options = statistics.mean(offered) if offered else 0
        latencies.clear()
        offered.clear()
        counter.reset()
        # Bursts of concurrent quotes: here one process serves them all (one GIL) and the
        # DynamoDB stand-in answers one request at a time (local/aws.py), so the latency is
        # the queue in front of it; what the burst shows of our code is its round trips when
        # quotes race for the same seats (re-reads after a lost hold).
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            for r in range(rounds):
                list(pool.map(quote, range(alone + r * concurrency, alone + (r + 1) * concurrency)))
        counter.on = False
        burst_p50, burst_p99 = _percentiles(latencies)
        return {
            "booked_orders": written,
            "alone": {
                "quotes": alone,
                "p50_ms": alone_p50,
                "p99_ms": alone_p99,
                "dynamodb_requests_per_quote": alone_calls,
                "options_per_quote": alone_options,
            },
            "burst_local": {
                "concurrent_quotes": concurrency,
                "quotes": len(latencies),
                "p50_ms": burst_p50,
                "p99_ms": burst_p99,
                "dynamodb_requests_per_quote": calls_per_quote(),
                "options_per_quote": statistics.mean(offered) if offered else 0,
                "note": "one process and a DynamoDB stand-in serving one request at a time: "
                "a queue, not what a deployed stage sees",
            },
            "errors": errors,
            "target_p50_ms": TARGET_P50_MS,
            "target_p99_ms": TARGET_P99_MS,
        }
    finally:
        runtime.stop()


def register(commands: Any) -> None:
    bench = commands.add_parser(
        "options-bench",
        help="delivery-option quote latency (p50/p99) at N concurrent quotes on a booked day",
    )
    bench.add_argument("--booked", type=int, default=1_000, help="orders already booked")
    bench.add_argument("--concurrency", type=int, default=50, help="quotes at once")
    bench.add_argument("--rounds", type=int, default=3, help="bursts of --concurrency quotes")
    bench.add_argument("--vehicles", type=int, default=25, help="vans of 150 parcels, 12 h")
    bench.add_argument("--alone", type=int, default=50, help="quotes one at a time first")
    bench.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    report = run(args.booked, args.concurrency, args.rounds, args.vehicles, args.alone)
    print(json.dumps(report, indent=2))
    alone, burst = report["alone"], report["burst_local"]
    print(
        f"quote latency, {report['booked_orders']} orders booked, one quote at a time (each "
        f"deployed quote has its own Lambda): p50 {alone['p50_ms']} ms (target "
        f"{TARGET_P50_MS:.0f}), p99 {alone['p99_ms']} ms (target {TARGET_P99_MS:.0f}), "
        f"{alone['dynamodb_requests_per_quote']} DynamoDB requests a quote"
    )
    print(
        f"{burst['concurrent_quotes']} at once in this one process (queued at the local "
        f"DynamoDB stand-in, not a deployed figure): p50 {burst['p50_ms']} ms, p99 "
        f"{burst['p99_ms']} ms, {burst['dynamodb_requests_per_quote']} DynamoDB requests a quote"
    )
    return 0 if not report["errors"] else 1
