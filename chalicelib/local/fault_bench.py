"""`lastmile fault-bench`: orders from intake to delivered through the local runtime while
faults are injected at random (vendor outages, DynamoDB throttling, a notify crash mid-batch,
an optimiser crash, ...), then the accounting: orders lost, customer messages lost or sent
twice, work parked and redriven. Each fault says how it is injected, or that this runtime
cannot inject it yet."""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from chalicelib import bootstrap
from chalicelib.dispatch.workflow import OPTIMISER
from chalicelib.local import app_module
from chalicelib.local import delivery_day as day
from chalicelib.local.aws_faults import FunctionCrashed
from chalicelib.local.dispatch import register_task
from chalicelib.local.metering import LogBytes
from chalicelib.local.runtime import LocalRuntime

NOT_AVAILABLE = "not available"


@dataclass
class Chaos:
    """What a fault is injected with: the runtime, an HTTP client, the bench's dice, and how
    many real seconds stand for a minute of outage."""

    runtime: LocalRuntime
    http: day.Http
    rng: random.Random
    minute_s: float

    def minutes(self, low: float, high: float) -> float:
        """A duration of `low` to `high` simulated minutes, in real seconds."""
        return round(self.rng.uniform(low, high) * self.minute_s, 2)

    def local(self, path: str, body: dict[str, Any]) -> str:
        answer, _ = self.http.request("POST", path, "faults", json=body)
        status = answer.status_code if answer is not None else "no answer"
        return f"POST {path} {json.dumps(body)} -> {status}"


@dataclass
class Fault:
    name: str
    how: str  # how it is injected, for the report's table
    when: str  # "during" (at random while orders flow) or "dispatch" (one run's)
    available: Callable[[LocalRuntime], bool]
    inject: Callable[[Chaos], str]  # does it; returns what was done
    injected: list[str] = field(default_factory=list)


def _has_route(path: str) -> Callable[[LocalRuntime], bool]:
    return lambda runtime: path in app_module().app.routes


def _outage(vendor: str) -> Callable[[Chaos], str]:
    def inject(chaos: Chaos) -> str:
        status = chaos.rng.choice([429, 500, 503])
        body = {"status": status, "seconds": chaos.minutes(1, 5)}
        return chaos.local(f"/local/vendors/{vendor}/outage", body)

    return inject


def _sendgrid_burst(chaos: Chaos) -> str:
    statuses = [chaos.rng.choice([429, 500, 503]) for _ in range(chaos.rng.randint(3, 20))]
    return chaos.local("/local/vendors/sendgrid/script", {"statuses": statuses})


def _throttle(chaos: Chaos) -> str:
    body = {"seconds": chaos.minutes(0.5, 2), "rate": round(chaos.rng.uniform(0.1, 0.4), 2)}
    return chaos.local("/local/aws/throttle", body)


def _notify_crash(chaos: Chaos) -> str:
    after = chaos.rng.randint(1, 20)
    chaos.runtime.notify_crash.arm(after)
    return f"notify killed after {after} records of its next batch longer than that"


def _crashing_optimiser(event: dict[str, Any], context: Any) -> Any:
    raise FunctionCrashed("Runtime exited with error: signal: killed")


def _optimiser_crash(chaos: Chaos) -> str:
    workflow = chaos.runtime.workflow
    assert workflow is not None
    register_task(workflow, OPTIMISER, handler=_crashing_optimiser)
    return "optimiser function replaced by one that dies, for one dispatch run"


def _optimiser_back(runtime: LocalRuntime) -> None:
    if runtime.workflow is not None:
        register_task(runtime.workflow, OPTIMISER)  # the real one, in its own process


def _dispatch_fault(fault: str) -> Callable[[Chaos], str]:
    """One of the local workflow's faults (chalicelib/local/dispatch_faults.py), in force for
    the bench's first run; cleared after it."""

    def inject(chaos: Chaos) -> str:
        return chaos.local("/local/dispatch/faults", {"fault": fault})

    return inject


def _stuck_run(chaos: Chaos) -> str:
    """Build hangs; once it does, the execution is stopped as its timeout would stop it (no
    Catch runs), and the reaper is left to release the run."""
    done = chaos.local("/local/dispatch/faults", {"fault": "stuck_run"})
    threading.Thread(target=_stop_when_stuck, args=(chaos,), daemon=True).start()
    return done + "; its execution stopped once Build hangs (the reaper then releases it)"


def _stop_when_stuck(chaos: Chaos, hang_s: float = 5.0, wait_s: float = 600.0) -> None:
    sfn = chaos.runtime.aws.client("stepfunctions")
    machine = bootstrap.settings().dispatch_state_machine_arn
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        running = sfn.list_executions(stateMachineArn=machine, statusFilter="RUNNING")
        if running["executions"]:
            time.sleep(hang_s)
            for execution in running["executions"]:
                chaos.local(f"/local/dispatch-runs/{execution['name']}/stop", {})
            return
        time.sleep(0.2)


def catalogue() -> list[Fault]:
    """Every fault the issue names, and how this runtime injects it (when it can). The hooks
    marked not available are the lead's to wire once their switches exist."""
    return [
        Fault(
            "sendgrid_outage",
            "POST /local/vendors/sendgrid/outage {status: 429|500|503, seconds: 1-5 min}",
            "during",
            _has_route("/local/vendors/{vendor}/outage"),
            _outage("sendgrid"),
        ),
        Fault(
            "sns_outage",
            "POST /local/vendors/sns/outage {status: 429|500|503, seconds: 1-5 min}",
            "during",
            _has_route("/local/vendors/{vendor}/outage"),
            _outage("sns"),
        ),
        Fault(
            "sendgrid_burst",
            "POST /local/vendors/sendgrid/script {statuses: 3-20 of 429|500|503}",
            "during",
            _has_route("/local/vendors/sendgrid/script"),
            _sendgrid_burst,
        ),
        Fault(
            "dynamodb_throttling",
            "POST /local/aws/throttle {seconds: 1/2-2 min, rate: 0.1-0.4} (every table)",
            "during",
            _has_route("/local/aws/throttle"),
            _throttle,
        ),
        Fault(
            "notify_crash",
            "runtime.notify_crash.arm(n): notify killed after n (1-20) records of a batch",
            "during",
            lambda runtime: True,
            _notify_crash,
        ),
        Fault(
            "optimiser_crash",
            "register_task(optimiser, handler=one that dies) for the first run; dispatched "
            "again, as the depot's next schedule would",
            "dispatch",
            lambda runtime: runtime.workflow is not None,
            _optimiser_crash,
        ),
        Fault(
            "commit_crash",
            "POST /local/dispatch/faults {fault: commit_crash_halfway}: Commit dies after "
            "planning half its orders, in the first run",
            "dispatch",
            _has_route("/local/dispatch/faults"),
            _dispatch_fault("commit_crash_halfway"),
        ),
        Fault(
            "stuck_run",
            "POST /local/dispatch/faults {fault: stuck_run}, then POST /local/dispatch-runs/"
            "{id}/stop once Build hangs (a timeout outside the Catch); the reaper releases it",
            "dispatch",
            _has_route("/local/dispatch/faults"),
            _stuck_run,
        ),
    ]


class Injector:
    """Injects one of the `during` faults (at random, by the bench's dice) every `every_s`
    seconds while started."""

    def __init__(self, faults: list[Fault], chaos: Chaos, every_s: float) -> None:
        self._faults = faults
        self._chaos = chaos
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Injector:
        if self._faults:
            self._thread = threading.Thread(target=self._run, name="fault-injector", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self._chaos.rng.uniform(0.5, 1.5) * self._every_s):
            fault = self._chaos.rng.choice(self._faults)
            fault.injected.append(fault.inject(self._chaos))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)


def run(
    orders: int,
    concurrency: int,
    *,
    minute_s: float = 2.0,
    every_s: float = 5.0,
    seed: int = 1,
    only: set[str] | None = None,
    time_limit_s: int = 5,
    settle_timeout_s: float = 900,
) -> dict[str, Any]:
    runtime = day.start_runtime()
    logs = LogBytes()  # the app's log lines off the console: the report is the output
    started = time.monotonic()
    try:
        http = day.Http(runtime.base_url, retries=6)
        fleet = max(1, -(-orders * 5 // (4 * 150)))
        depot = day.set_up(runtime, http, vehicles=fleet, capacity=150, time_limit_s=time_limit_s)
        chaos = Chaos(runtime, http, random.Random(seed), minute_s)  # noqa: S311 (dice)
        faults = catalogue()
        chosen = [f for f in faults if (only is None or f.name in only) and f.available(runtime)]
        during = [f for f in chosen if f.when == "during"]
        injector = Injector(during, chaos, every_s).start()
        try:
            intake = day.send_orders(http, depot, orders, concurrency, seed=seed)
            runs = _dispatch_until_planned(runtime, http, depot, chosen, chaos)
            where = {order_id: person for order_id, (_, _, person) in intake.accepted.items()}
            driving = day.Driving()
            for plan in runs:
                if plan.status == "succeeded":
                    more = day.drive(
                        http,
                        plan,
                        where,
                        ping_every_s=600,
                        fail_share=0.0,
                        concurrency=concurrency,
                        seed=seed,
                    )
                    driving.events.update(more.events)
                    driving.errors.update(more.errors)
        finally:
            injector.stop()
        # Long enough for the longest outage to end and what waited on it to go out.
        settle_s = day.wait_for_outbox(runtime, settle_timeout_s, settled_for_s=5 * minute_s + 5)
        redrive_started = time.monotonic()
        redrove = _redrive_parked(runtime, http, settle_timeout_s)
        settle_s += day.wait_for_outbox(runtime, settle_timeout_s)
        books = day.account(runtime, http, depot, intake.accepted)
        return _report(
            orders,
            seed,
            minute_s,
            faults,
            chosen,
            intake,
            runs,
            driving,
            books,
            http,
            runtime,
            redrove,
            {
                "total": time.monotonic() - started,
                "outbox_settle": settle_s,
                "redrive": time.monotonic() - redrive_started,
            },
        )
    finally:
        logs.close()
        runtime.stop()


def _dispatch_until_planned(
    runtime: LocalRuntime, http: day.Http, depot: day.Depot, chosen: list[Fault], chaos: Chaos
) -> list[day.Dispatch]:
    """The depot's runs: one run per dispatch fault chosen, each meeting its fault alone (two in
    one run would hide all but the first), then again, as the depot's next schedule would,
    until a run succeeds."""
    faults = [f for f in chosen if f.when == "dispatch"]
    runs = []
    for attempt in range(len(faults) + 3):
        if attempt < len(faults):
            faults[attempt].injected.append(faults[attempt].inject(chaos))
        try:
            plan = day.dispatch(runtime, http, depot)
        finally:
            _optimiser_back(runtime)
            _dispatch_faults_cleared(http)
        if plan.status == "running":  # stopped outside its Catch: as the reaper left it
            view, _ = http.request(
                "GET", f"/v1/dispatch-runs/{plan.run_id}", "faults", token=runtime.admin_key
            )
            if view is not None and view.ok:
                plan = replace(plan, status=view.json()["status"])
        runs.append(plan)
        if plan.status == "succeeded" and attempt >= len(faults) - 1:
            break
    return runs


def _dispatch_faults_cleared(http: day.Http) -> None:
    """The workflow's faults cleared, and the reaper run now (as its 5-minute schedule would)
    so a run that died outside its Catch frees its orders and its depot for the next."""
    http.request("DELETE", "/local/dispatch/faults", "faults")
    http.request("POST", "/local/schedules/dispatch_reaper", "faults", json={})


def _redrive_parked(runtime: LocalRuntime, http: day.Http, timeout_s: float) -> dict[str, int]:
    """What an operator does after an outage: wait for parked work to finish its retries, put
    what was dead-lettered back (`lastmile ops redrive`), until nothing waits; the totals."""
    totals = {"redrive_calls": 0, "redriven": 0, "left_dead": 0}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        answer, _ = http.request("GET", "/v1/ops/parked", "ops", token=runtime.admin_key)
        counts = answer.json()["counts"] if answer is not None and answer.ok else {}
        if counts.get("dead"):
            done, _ = http.request(
                "POST", "/v1/ops/redrive", "ops", token=runtime.admin_key, json={}
            )
            if done is not None and done.ok:
                body = done.json()
                totals["redrive_calls"] += 1
                totals["redriven"] += body["work"] + body["stream_messages"]
        elif (
            not counts.get("retrying") and runtime.notify_poller and runtime.notify_poller.caught_up
        ):
            break
        time.sleep(1.0)
    answer, _ = http.request("GET", "/v1/ops/parked", "ops", token=runtime.admin_key)
    if answer is not None and answer.ok:
        totals["left_dead"] = answer.json()["counts"].get("dead", 0)
    return totals


def _report(
    orders: int,
    seed: int,
    minute_s: float,
    faults: list[Fault],
    chosen: list[Fault],
    intake: day.Intake,
    runs: list[day.Dispatch],
    driving: day.Driving,
    books: day.Accounting,
    http: day.Http,
    runtime: LocalRuntime,
    redrove: dict[str, int],
    walls: dict[str, float],
) -> dict[str, Any]:
    parked = sum(
        n for state, n in books.notification_states.items() if state in ("retry", "sending")
    )
    poller = runtime.notify_poller
    return {
        "benchmark": "fault-bench",
        "orders": orders,
        "seed": seed,
        "seconds_per_outage_minute": minute_s,
        "faults": [
            {
                "fault": f.name,
                "how": f.how,
                "available": f.available(runtime),
                "injected": _injected(f, chosen, runtime),
                "details": f.injected[:5],
            }
            for f in faults
        ],
        "figures": {
            "orders_lost": {"value": books.orders_lost + books.orders_stuck, "target": 0},
            "messages_lost": {"value": books.messages_lost, "target": 0},
            "messages_duplicated": {"value": books.messages_duplicated, "target": 0},
            "parked": {"value": parked, "target": None, "note": "notifications left to retry"},
            "redriven": {
                "value": redrove["redriven"],
                "target": None,
                "note": f"by {redrove['redrive_calls']} POST /v1/ops/redrive (lastmile ops "
                f"redrive); {redrove['left_dead']} left in the dead-letter queue",
            },
        },
        "intake": {
            "sent": intake.sent,
            "accepted": len(intake.accepted),
            "errors_after_retries": dict(intake.errors),
        },
        "dispatch_runs": [
            {
                "run_id": r.run_id,
                "status": r.status,
                "routes": len(r.routes),
                "unassigned": r.unassigned,
            }
            for r in runs
        ],
        "driving": {"events": dict(driving.events), "errors_after_retries": dict(driving.errors)},
        "retried_by_clients": dict(http.retried),
        "server_errors_seen": dict(http.server_errors),
        "notify": {
            "batches": poller.batches if poller else 0,
            "failed_batches": poller.failures if poller else 0,
            "crashes": runtime.notify_crash.crashed,
        },
        "dynamodb_requests_throttled": runtime.throttle.refused if runtime.throttle else 0,
        "accounting": books.as_dict(),
        "wall_s": {k: round(v, 1) for k, v in walls.items()},
    }


def _injected(fault: Fault, chosen: list[Fault], runtime: LocalRuntime) -> int | str:
    if fault in chosen:
        return len(fault.injected)
    return "not chosen" if fault.available(runtime) else NOT_AVAILABLE


def register(commands: Any) -> None:
    bench = commands.add_parser(
        "fault-bench",
        help="orders from intake to delivered through the local runtime with faults injected "
        "at random; prints orders and messages lost, duplicated, parked and redriven",
    )
    bench.add_argument("--orders", type=int, default=1000)
    bench.add_argument("--concurrency", type=int, default=20)
    bench.add_argument(
        "--minute", type=float, default=2.0, help="real seconds per simulated outage minute"
    )
    bench.add_argument("--every", type=float, default=5.0, help="seconds between faults")
    bench.add_argument("--seed", type=int, default=1)
    bench.add_argument("--faults", default=None, help="comma-separated names (default: all)")
    bench.add_argument("--out", default=None, help="also write the report (JSON) to this file")
    bench.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    only = set(args.faults.split(",")) if args.faults else None
    report = run(
        args.orders,
        args.concurrency,
        minute_s=args.minute,
        every_s=args.every,
        seed=args.seed,
        only=only,
    )
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    figures = report["figures"]
    lost = (figures[k]["value"] for k in ("orders_lost", "messages_lost", "messages_duplicated"))
    return 0 if not any(lost) else 1
