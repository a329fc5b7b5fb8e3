"""The lastmile Chalice app: middleware, blueprints and Lambda entry points. Wiring only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from chalice import Chalice, Rate
from chalice.app import CloudWatchEvent

from chalicelib import bootstrap
from chalicelib.api.admin import admin
from chalicelib.api.driver import driver
from chalicelib.api.lockers import lockers_api
from chalicelib.api.merchant import merchant_api
from chalicelib.api.openapi import openapi
from chalicelib.api.tracking import tracking
from chalicelib.api.webhooks import webhooks
from chalicelib.config import settings
from chalicelib.dispatch.optimiser import handler as optimiser
from chalicelib.notify.consumer import consume
from chalicelib.webhooks_out.outbox import each

app = Chalice(app_name="lastmile")
logger = Logger(service="lastmile")
metrics = Metrics(namespace="lastmile", service="lastmile")
tracer = Tracer(service="lastmile")


@app.middleware("http")
def observe(event: Any, get_response: Any) -> Any:
    """Correlation id on every log line and a metric per response class."""
    context = event.context or {}
    logger.set_correlation_id(context.get("requestId") or event.headers.get("x-request-id"))
    logger.append_keys(path=context.get("resourcePath"), method=event.method)
    try:
        with tracer.provider.in_subsegment("## http") as subsegment:
            subsegment.put_annotation("path", str(context.get("resourcePath")))
            response = get_response(event)
        metrics.add_metric(
            name=f"http_{response.status_code // 100}xx", unit=MetricUnit.Count, value=1
        )
        return response
    finally:
        metrics.flush_metrics()
        logger.remove_keys(["path", "method"])


app.register_blueprint(admin)
app.register_blueprint(driver)
app.register_blueprint(lockers_api)
app.register_blueprint(merchant_api)
app.register_blueprint(webhooks)
app.register_blueprint(tracking)
app.register_blueprint(openapi)


# Chalice calls a scheduled function with one argument, the CloudWatch event (its `.context` is
# the Lambda context).


@app.schedule(Rate(15, unit=Rate.MINUTES), name="reconcile")
def reconcile(event: CloudWatchEvent) -> dict[str, Any]:
    """Catch-up: pull what storefront webhooks may have missed (chalicelib/reconcile)."""
    return bootstrap.reconcile().run().as_dict()


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


@app.lambda_function(name="notify")
def notify(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The outbox table's stream (an event source mapping with ReportBatchItemFailures, made by
    the CDK app): each message's email and SMS, once per channel (chalicelib/notify), and the
    merchant's webhooks (chalicelib/webhooks_out), and Shopify's fulfilment with our tracking
    (chalicelib/fulfilment). No one's failure holds the others back."""
    hooks = bootstrap.webhooks_out()
    # Close to the timeout, first attempts are left to `webhook_retries` (due at once).
    attempt_now = context is None or context.get_remaining_time_in_millis() > 30_000

    def webhooks(message: dict[str, Any]) -> None:
        hooks.enqueue(message, attempt_now=attempt_now)

    handlers = (bootstrap.notifications().handle, webhooks, bootstrap.fulfilment().handle)
    return consume(event, each(*handlers))


@app.schedule(Rate(1, unit=Rate.MINUTES), name="webhook_retries")
def webhook_retries(event: CloudWatchEvent) -> dict[str, Any]:
    """Merchant webhook deliveries due for another attempt (chalicelib/webhooks_out)."""
    outcomes = bootstrap.webhooks_out().retry_due()
    states = [o.state for o in outcomes]
    return {"attempted": len(states), **{s: states.count(s) for s in set(states)}}


@app.schedule(Rate(15, unit=Rate.MINUTES), name="locker_sweep")
def locker_sweep(event: CloudWatchEvent) -> dict[str, int]:
    """Parcels waiting in lockers: a reminder 24 hours before the deadline; at the deadline a
    return, planned for a driver by the next dispatch run (chalicelib/lockers). The sweep is
    as of the time EventBridge scheduled it for (the event's `time`)."""
    at = datetime.fromisoformat(event.time.replace("Z", "+00:00")).timestamp()
    return bootstrap.locker_sweep().sweep(now=at)


# `optimiser` (imported above) is the optimiser function's entry point: deployed by the CDK app
# as its own function with ortools (infra/), never by Chalice, so the API stays lean.
__all__ = ["app", "optimiser"]

if settings().is_local:
    from chalicelib.api.local import local

    app.register_blueprint(local)
