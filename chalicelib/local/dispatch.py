"""The dispatch workflow on the local stand-in: its bucket, driver-token and pickup-code keys,
the real state machine (infra/statemachines/dispatch.asl.json) deployed in moto with each task
calling app.py's handler, the optimiser in its own process as in AWS."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from chalicelib import bootstrap
from chalicelib.dispatch.workflow import (
    ASL_PATH,
    FUNCTIONS,
    OPTIMISER,
    OPTIMISER_HANDLER,
    OPTIMISER_TIMEOUT_S,
    STATE_MACHINE_NAME,
    TICK,
)
from chalicelib.forecasting import FORECASTER, FORECASTER_HANDLER
from chalicelib.local import app_module
from chalicelib.local.aws import EmbeddedAws
from chalicelib.local.scheduler import LocalScheduler
from chalicelib.local.stepfunctions import ROLE_ARN, LocalStepFunctions

LOCAL_SCHEDULE_GROUP = "lastmile-local"
CHALICE_CONFIG = Path(__file__).resolve().parents[2] / ".chalice" / "config.json"


@cache
def _timeouts() -> dict[str, float]:
    """Each Chalice function's timeout as .chalice/config.json gives it."""
    config = json.loads(CHALICE_CONFIG.read_text())
    default = float(config.get("lambda_timeout", 60))
    per_function = config.get("lambda_functions", {})
    return {
        name: float(per_function.get(name, {}).get("lambda_timeout", default))
        for name in FUNCTIONS.values()
    }


def register_task(
    runner: LocalStepFunctions,
    function: str,
    handler: Callable[..., Any] | None = None,
    timeout_s: float | None = None,
) -> str:
    """Back the workflow's Lambda function `function` with app.py's handler (the optimiser: in
    its own process, as its own Lambda function, since the planner forks solver workers and
    must not from this multi-threaded server). Tests pass a faulty `handler` in its place, or
    a short `timeout_s`. Returns the function's ARN."""
    limit = timeout_s or (_timeouts() | {OPTIMISER: float(OPTIMISER_TIMEOUT_S)})[function]
    if function == OPTIMISER and handler is None:
        module, _, attr = OPTIMISER_HANDLER.rpartition(".")
        return runner.register(function, f"{module}:{attr}", timeout_s=limit, isolated=True)
    app = app_module()
    return runner.register(function, handler or getattr(app, function), timeout_s=limit)


def deploy_dispatch(aws: EmbeddedAws) -> tuple[LocalStepFunctions, str]:
    """Deploy the dispatch workflow on `aws`; returns the runner and the state machine ARN (also
    set as LASTMILE_DISPATCH_STATE_MACHINE_ARN, where the API finds it)."""
    settings = bootstrap.settings()
    s3 = aws.client("s3")
    existing = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    for bucket in (settings.dispatch_bucket, settings.lake_bucket):  # the lake's too
        if bucket not in existing:
            s3.create_bucket(
                Bucket=bucket,
                CreateBucketConfiguration={"LocationConstraint": os.environ["AWS_DEFAULT_REGION"]},
            )
    sm = aws.client("secretsmanager")
    for name in (settings.driver_token_secret_name, settings.pickup_code_secret_name):
        try:
            sm.create_secret(Name=name, SecretString=secrets.token_urlsafe(48))
        except sm.exceptions.ResourceExistsException:
            pass  # one key per stand-in, as one per stage in AWS
    runner = LocalStepFunctions(aws.endpoint, aws.port)
    arns = {placeholder: register_task(runner, f) for placeholder, f in FUNCTIONS.items()}
    arn = runner.deploy(f"lastmile-local-{STATE_MACHINE_NAME}", ASL_PATH, arns)
    # The depots' schedules live in moto's EventBridge Scheduler and target dispatch_tick.
    scheduler = aws.client("scheduler")
    try:
        scheduler.create_schedule_group(Name=LOCAL_SCHEDULE_GROUP)
    except scheduler.exceptions.ConflictException:
        pass
    tick = runner.register(TICK, getattr(app_module(), TICK))
    # The forecasting function, from the optimiser's package in AWS: its own process here too
    # (numpy stays out of the API's).
    module, _, attr = FORECASTER_HANDLER.rpartition(".")
    forecaster = runner.register(FORECASTER, f"{module}:{attr}", isolated=True)
    os.environ.update(
        {
            "LASTMILE_DISPATCH_STATE_MACHINE_ARN": arn,
            "LASTMILE_DISPATCH_TICK_ARN": tick,
            "LASTMILE_FORECAST_FUNCTION": forecaster,
            "LASTMILE_SCHEDULER_ROLE_ARN": ROLE_ARN,
            "LASTMILE_SCHEDULE_GROUP": LOCAL_SCHEDULE_GROUP,
        }
    )
    bootstrap.reset()
    return runner, arn


def start_scheduler(aws: EmbeddedAws, interval_s: float = 20) -> LocalScheduler:
    """Fire the depots' schedules from moto's Scheduler, as AWS would (see local/scheduler.py)."""
    return LocalScheduler(
        aws.client("scheduler"), aws.client("lambda"), LOCAL_SCHEDULE_GROUP, interval_s
    ).start()


def execution_arn(state_machine_arn: str, run_id: str) -> str:
    """The ARN of the run's execution (executions are named by the run id)."""
    return state_machine_arn.replace(":stateMachine:", ":execution:") + ":" + run_id
