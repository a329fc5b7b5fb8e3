"""The local stage's part of the OpenAPI document: the routes only the local runtime serves
(api/local.py)."""

from __future__ import annotations

from typing import Any

from chalicelib import jobs
from chalicelib.api.local_replies import LOCAL_REPLIES
from chalicelib.api.openapi.components import add_reply, op


def paths() -> dict[str, dict[str, Any]]:
    return {
        "/local/outbox": {
            "get": op(
                "Email and SMS the local runtime captured",
                None,
                {"200": "messages"},
                replies={"200": "OutboxOut"},
                tags=("local",),
            )
        },
        "/local/vendors/sendgrid/script": {
            "post": op(
                "The local SendGrid's next answers, e.g. {statuses: [429, 202]}",
                None,
                {"200": "scripted", "422": "invalid"},
                replies={"200": "SendGridScriptOut"},
                tags=("local",),
            )
        },
        "/local/vendors/{vendor}/outage": {
            "post": op(
                "Take a vendor's stand-in down (sendgrid, sns, stripe, carriers): {status: "
                "429|500|502|503|504, seconds} answers every call with `status` for `seconds`, "
                "then it recovers; seconds 0 ends it. A vendor with no stand-in in this runtime "
                "(shopify so far) is 404 unknown_vendor",
                None,
                {"200": "{vendor, status, seconds}", "404": "unknown_vendor", "422": "invalid"},
                replies={"200": "VendorOutageOut"},
                tags=("local",),
            )
        },
        "/local/stripe/requests": {
            "get": op(
                "Every call the local Stripe stand-in received: {requests: [{method, path, "
                "params, idempotency_key, at}]}",
                None,
                {"200": "requests"},
                replies={"200": "StripeRequestsOut"},
                tags=("local",),
            )
        },
        "/local/stripe/checkout/sessions/{session_id}/complete": {
            "post": op(
                "Pay a test Checkout session: {shipping_option?, shipping?: {name, address}, "
                "deliveries?} sends Stripe's signed checkout.session.completed (deliveries "
                "times) to POST /v1/webhooks/stripe -> {event_id, session, webhook: [answers]}",
                None,
                {"200": "completed", "400": "not open", "404": "no such session"},
                replies={"200": "CheckoutCompletedOut"},
                tags=("local",),
            )
        },
        "/local/stripe/checkout/sessions/{session_id}/expire": {
            "post": op(
                "Abandon a test Checkout session: it expires, nothing is paid",
                None,
                {"200": "the session", "404": "no such session"},
                replies={"200": "CheckoutSessionOut"},
                tags=("local",),
            )
        },
        "/local/carriers/requests": {
            "get": op(
                "Every call the partner carriers' stand-ins received: {requests: [{carrier, "
                "method, path, body, at, status}]}",
                None,
                {"200": "requests"},
                replies={"200": "CarrierRequestsOut"},
                tags=("local",),
            )
        },
        "/local/carriers/{carrier}/deliveries/{job_id}/status": {
            "post": op(
                "Make a carrier's stand-in send its signed status webhook for a delivery: "
                "{status, courier?: {lat, lng}, repeat?: 1..3} -> {carrier, job_id, answers}",
                None,
                {
                    "200": "{carrier, job_id, answers}",
                    "404": "no such carrier or delivery",
                    "422": "invalid",
                },
                replies={"200": "CarrierStatusSentOut"},
                tags=("local",),
            )
        },
        "/local/depots/{depot_id}/tick": {
            "post": op(
                "Fire a depot's dispatch schedule now: {trigger: wave|rolling} (a wave starts a "
                "run; a rolling tick one once enough orders wait) -> {depot_id, started, run_id?}",
                None,
                {
                    "200": "{depot_id, started, run_id?, waiting?}",
                    "404": "no such depot",
                    "422": "invalid",
                },
                replies={"200": "DispatchTickOut"},
                tags=("local",),
            )
        },
        "/local/dispatch/faults": {
            "post": op(
                "Make dispatch runs meet a fault until cleared: {fault: optimiser_crash|"
                "commit_crash_halfway|finish_crash|stuck_run}",
                None,
                {"200": "{faults} in force", "422": "no such fault"},
                replies={"200": "DispatchFaultsOut"},
                tags=("local",),
            ),
            "delete": op(
                "Clear every dispatch fault (stuck tasks let go)",
                None,
                {"200": "{faults: []}"},
                replies={"200": "DispatchFaultsOut"},
                tags=("local",),
            ),
        },
        "/local/dispatch-runs/{run_id}/stop": {
            "post": op(
                "Stop a run's execution as its timeout would (no Catch runs; the reaper, "
                "POST /local/schedules/dispatch_reaper, releases it)",
                None,
                {"200": "{run_id, status}", "404": "no execution of that run"},
                replies={"200": "RunStoppedOut"},
                tags=("local",),
            )
        },
        "/local/aws/throttle": {
            "post": op(
                "The embedded DynamoDB refuses {rate} (0..1, default 1) of the requests on "
                "{table} (every table when none) with ProvisionedThroughputExceededException "
                "for {seconds}",
                None,
                {"200": "{table, seconds, rate}", "404": "no throttle switch", "422": "invalid"},
                replies={"200": "ThrottleOut"},
                tags=("local",),
            )
        },
        "/local/schedules/{name}": {
            "post": op(
                f"Run a scheduled function now ({', '.join(jobs.SCHEDULED)}), "
                "optionally as of {time}: e.g. the locker sweep three days ahead",
                None,
                {"200": "{function, result}", "404": "no such function", "422": "invalid"},
                replies={"200": "ScheduledRunOut"},
                tags=("local",),
            )
        },
    }


def add_schemas(schemas: dict[str, Any]) -> None:
    """The local hooks' answers (api/local_replies.py): in the local stage's document only."""
    add_reply(schemas, *LOCAL_REPLIES)
