"""The lastmile Chalice app: middleware, blueprints and Lambda entry points. Wiring only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from chalice import Chalice, Cron, Rate
from chalice.app import CloudWatchEvent, Request

from chalicelib import bootstrap, jobs
from chalicelib.api.admin import admin
from chalicelib.api.analytics import analytics_api
from chalicelib.api.carrier_webhooks import carrier_webhooks
from chalicelib.api.dashboard import dashboard
from chalicelib.api.driver import driver
from chalicelib.api.http import uniform_errors
from chalicelib.api.lockers import lockers_api
from chalicelib.api.merchant import merchant_api
from chalicelib.api.openapi import openapi
from chalicelib.api.ops import ops
from chalicelib.api.payments import payments
from chalicelib.api.stock import stock_api
from chalicelib.api.storefront_webhooks import storefront_webhooks
from chalicelib.api.tracking import tracking
from chalicelib.dispatch.optimiser import handler as optimiser
from chalicelib.telemetry import logger, metrics, observe_invocation, tracer

app = Chalice(app_name="lastmile")
# Label PDFs (api/http.py pdf_response) leave base64-encoded; the package tells API Gateway too.
app.api.binary_types.append("application/pdf")

# First, so that it wraps every other middleware: Lambda context and cold start on the log
# lines, the trace, and one metrics flush per invocation, for every function below.
app.register_middleware(observe_invocation, "all")


@app.middleware("http")
def observe_request(event: Request, get_response: Any) -> Any:
    """Correlation id on every log line, the path on the trace, a metric per response class."""
    context = event.context or {}
    logger.set_correlation_id(context.get("requestId") or event.headers.get("x-request-id"))
    logger.append_keys(path=context.get("resourcePath"), method=event.method)
    tracer.put_annotation("path", str(context.get("resourcePath")))
    try:
        response = get_response(event)
        metrics.add_metric(
            name=f"http_{response.status_code // 100}xx", unit=MetricUnit.Count, value=1
        )
        return response
    finally:
        logger.remove_keys(["path", "method"])


# Chalice's own refusals (405, 415, an exception's 500) in the error shape every reply has.
app.register_middleware(uniform_errors, "http")

app.register_blueprint(admin)
app.register_blueprint(analytics_api)
app.register_blueprint(dashboard)
app.register_blueprint(driver)
app.register_blueprint(lockers_api)
app.register_blueprint(merchant_api)
app.register_blueprint(ops)
app.register_blueprint(stock_api)
app.register_blueprint(payments)
app.register_blueprint(storefront_webhooks)
app.register_blueprint(carrier_webhooks)
app.register_blueprint(tracking)
app.register_blueprint(openapi)
# The local stage's own routes (/local/...) are registered by the local runtime, never here.


# Chalice calls a scheduled function with one argument, the CloudWatch event (its `.context` is
# the Lambda context). The jobs' bodies are in chalicelib/jobs.py, shared with the local runtime.


@app.schedule(Rate(15, unit=Rate.MINUTES), name="reconcile")
def reconcile(event: CloudWatchEvent) -> dict[str, Any]:
    return jobs.reconcile()


# The dispatch state machine's tasks (infra/statemachines/dispatch.asl.json; the placeholders
# map to these names in chalicelib/dispatch/workflow.py). Each is idempotent on the run id.


@app.lambda_function(name="dispatch_collect")
def dispatch_collect(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return bootstrap.dispatch().collect(event)


@app.lambda_function(name="dispatch_build")
def dispatch_build(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return bootstrap.dispatch().build(event)


@app.lambda_function(name="dispatch_commit")
def dispatch_commit(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return bootstrap.dispatch().commit(event)


@app.lambda_function(name="dispatch_finish")
def dispatch_finish(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return bootstrap.dispatch().finish(event)


@app.lambda_function(name="dispatch_release")
def dispatch_release(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return bootstrap.dispatch().release(event)


@app.lambda_function(name="dispatch_tick")
def dispatch_tick(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Target of the depots' EventBridge Scheduler schedules: {depot_id, trigger}."""
    return bootstrap.dispatch().tick(event["depot_id"], event.get("trigger", "wave"))


@app.schedule(Rate(5, unit=Rate.MINUTES), name="dispatch_reaper")
def dispatch_reaper(event: CloudWatchEvent) -> dict[str, Any]:
    """Runs that died outside the state machine's Catch: orders released, depot unlocked."""
    return jobs.dispatch_reaper()


@app.lambda_function(name="notify")
def notify(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The outbox table's stream (an event source mapping with ReportBatchItemFailures, bisect
    and an on-failure destination, made by the CDK app)."""
    # Close to the timeout, first attempts are left to `webhook_retries` (due at once).
    attempt_now = context is None or context.get_remaining_time_in_millis() > 30_000
    return jobs.notify(event, attempt_now=attempt_now)


@app.lambda_function(name="notify_retries")
def notify_retries(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The outbox's retry queue (an SQS event source mapping with ReportBatchItemFailures, made
    by the CDK app): work a handler failed, parked with a delay, attempted again."""
    return jobs.notify_retries(event)


@app.schedule(Rate(1, unit=Rate.MINUTES), name="webhook_retries")
def webhook_retries(event: CloudWatchEvent) -> dict[str, Any]:
    return jobs.webhook_retries()


@app.schedule(Rate(15, unit=Rate.MINUTES), name="locker_sweep")
def locker_sweep(event: CloudWatchEvent) -> dict[str, int]:
    """As of the time EventBridge scheduled the run for (the event's `time`)."""
    return jobs.locker_sweep(datetime.fromisoformat(event.time))


# 03:00 UTC: yesterday is over in every European depot's zone (its last count is in).
@app.schedule(Cron(0, 3, "*", "*", "?", "*"), name="forecasts")
def forecasts(event: CloudWatchEvent) -> dict[str, Any]:
    """Each depot's next 7 days of orders (the model in the forecasting function)."""
    return jobs.forecasts(datetime.fromisoformat(event.time))


# `optimiser` (imported above) is the optimiser function's entry point: deployed by the CDK app
# as its own function with ortools (infra/), never by Chalice, so the API stays lean.
__all__ = ["app", "optimiser"]
