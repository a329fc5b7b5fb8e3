"""The optimiser Lambda function: one part of a dispatch run's problem from S3, planned, the
plan back to S3. Deployed by the CDK app as its own function with ortools; nothing here is
imported by the API functions' code paths before a solve is asked for."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from chalicelib.config import settings
from chalicelib.routing.model import Problem
from chalicelib.store.artifacts import Artifacts, plan_key

# Not chalicelib/telemetry.py: that one is Chalice middleware, and Chalice is not in this
# function's package. Tracing is the function's X-Ray active tracing (infra/stacks/optimiser.py);
# Powertools' Tracer would need the X-Ray SDK and botocore in the package.
logger = Logger(service="lastmile")
metrics = Metrics(namespace="lastmile", service="lastmile")


@cache
def _artifacts() -> Artifacts:
    client = boto3.session.Session().client("s3", endpoint_url=settings().aws_endpoint_url)
    return Artifacts(client, settings().dispatch_bucket)


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Solve `event["problem_key"]` within `event["time_limit_s"]`; errors propagate (the
    state machine retries a SolverError once, then releases the run's orders). In Lambda its
    log lines carry the context and cold start, and its metrics are flushed once."""
    if context is None:  # called directly (the local runtime's process, a test)
        return _solve(event)

    def solve(event: dict[str, Any], _context: Any) -> dict[str, Any]:
        answer = _solve(event)
        metrics.add_metric(
            name="OptimiserUnassigned", unit=MetricUnit.Count, value=answer["unassigned"]
        )
        return answer

    observed = metrics.log_metrics(
        logger.inject_lambda_context(solve, clear_state=True),
        capture_cold_start_metric=not is_metrics_disabled(),
    )
    return dict(observed(event, context))


def _solve(event: dict[str, Any]) -> dict[str, Any]:
    from chalicelib.routing.planner import plan  # ortools: only in this function's package

    run_id, part = event["run_id"], int(event["part"])
    problem = Problem.from_dict(_artifacts().get_json(event["problem_key"]))
    result = plan(problem, time_limit_s=float(event["time_limit_s"]), seed=0)
    key = _artifacts().put_json(plan_key(run_id, part), result.to_dict())
    logger.info(
        "optimiser: part planned",
        run_id=run_id,
        part=part,
        engine=result.engine,
        routes=len(result.routes),
        unassigned=len(result.unassigned),
    )
    return {
        "run_id": run_id,
        "part": part,
        "plan_key": key,
        "engine": result.engine,
        "routes": len(result.routes),
        "unassigned": len(result.unassigned),
        "seconds": result.stats.get("seconds"),
    }
