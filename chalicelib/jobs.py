"""The scheduled jobs and the outbox stream's work: what app.py's entry points run, and what
the local runtime runs on its timers and through POST /local/schedules/{name}."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from chalicelib import bootstrap
from chalicelib.analytics.lake import days_now
from chalicelib.notify.consumer import consume
from chalicelib.notify.parked_consumer import retry_parked
from chalicelib.notify.parking import OUTBOX_HANDLERS, Handler


def reconcile() -> dict[str, Any]:
    """Catch-up: pull what storefront webhooks may have missed (chalicelib/reconcile)."""
    return bootstrap.reconcile().run().as_dict()


def dispatch_reaper() -> dict[str, Any]:
    """Dispatch runs that died outside the state machine's Catch, released (dispatch/reaper)."""
    return bootstrap.dispatch_reaper().sweep()


def webhook_retries() -> dict[str, Any]:
    """Merchant webhook deliveries due for another attempt (chalicelib/merchant_webhooks)."""
    outcomes = bootstrap.merchant_webhooks().retry_due()
    states = [o.state for o in outcomes]
    return {"attempted": len(states), **{s: states.count(s) for s in set(states)}}


def locker_sweep(at: datetime) -> dict[str, int]:
    """Parcels waiting in lockers: a reminder 24 hours before the deadline; at the deadline a
    return, planned for a driver by the next dispatch run (chalicelib/lockers). The sweep is
    as of `at`, the time the run was scheduled for."""
    return bootstrap.locker_sweep().sweep(now=at.timestamp())


def forecasts(at: datetime) -> dict[str, Any]:
    """Each depot's orders for the next 7 days, from its history (chalicelib/forecasting): the
    model runs in the forecasting function, this job only reads, invokes and stores."""
    return bootstrap.forecast_job().run(at)


def lake_export(at: datetime) -> dict[str, Any]:
    """The facts of every depot's days around `at` into the lake, one Parquet object per kind,
    depot and day, overwritten whole (chalicelib/analytics/lake.py)."""
    return bootstrap.lake_export().run(days_now(at)).as_dict()


def lake_export_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The exporter function's entry (infra/stacks/lake.py), on its EventBridge schedule: as
    of the time the run was scheduled for (the event's `time`)."""
    at = event.get("time")
    return lake_export(datetime.fromisoformat(at) if at else datetime.now(UTC))


def outbox_handlers(*, attempt_now: bool = True) -> dict[str, Handler]:
    """Each outbox message's consumers, by the names parked work carries: its email and SMS,
    once per channel (chalicelib/notify), the merchant's webhooks (chalicelib/merchant_webhooks),
    Shopify's fulfilment with our tracking (chalicelib/fulfilment), each delivered
    parcel's usage reported to Stripe Billing (chalicelib/billing) and the overflow
    handoff to partner carriers (chalicelib/carriers). Without `attempt_now`,
    first webhook attempts are left to `webhook_retries`."""
    hooks = bootstrap.merchant_webhooks()

    def webhooks(message: dict[str, Any]) -> None:
        hooks.enqueue(message, attempt_now=attempt_now)

    handlers: dict[str, Handler] = {
        "notifications": bootstrap.notifications().handle,
        "webhooks": webhooks,
        "fulfilment": bootstrap.fulfilment().handle,
        "billing": bootstrap.usage_billing().handle,
        "carriers": bootstrap.carrier_handoffs().handle,
    }
    if tuple(handlers) != OUTBOX_HANDLERS:  # redriven stream batches are parked by these names
        raise RuntimeError(f"outbox handlers {tuple(handlers)} are not {OUTBOX_HANDLERS}")
    return handlers


def notify(event: dict[str, Any], *, attempt_now: bool) -> dict[str, Any]:
    """A batch of the outbox table's stream, given to every handler; a handler that fails has
    its work parked for later attempts, so no one's failure holds the others back."""
    handlers = outbox_handlers(attempt_now=attempt_now)
    return consume(event, handlers, bootstrap.parking(), bootstrap.retry_schedule())


def notify_retries(event: dict[str, Any]) -> dict[str, Any]:
    """A batch of the retry queue: each parked piece of work, attempted again by its handler."""
    return retry_parked(event, outbox_handlers(), bootstrap.parking(), bootstrap.retry_schedule())


# Each scheduled job run as of the time EventBridge scheduled it for. Only the locker sweep
# reads that time; the others read the clock, in AWS as locally.
SCHEDULED: dict[str, Callable[[datetime], dict[str, Any]]] = {
    "locker_sweep": locker_sweep,
    "webhook_retries": lambda at: webhook_retries(),
    "reconcile": lambda at: reconcile(),
    "dispatch_reaper": lambda at: dispatch_reaper(),
    "forecasts": forecasts,
    "lake_export": lake_export,
}
