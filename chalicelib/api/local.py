"""Routes that exist only in the local stage: what the runtime captured instead of sending,
its vendors' stand-ins, and the scheduled jobs run on demand. The local runtime adds them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from chalice import Blueprint, Chalice
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from chalicelib import bootstrap, jobs
from chalicelib.api.http import json_response, parse_body, route
from chalicelib.api.local_replies import (
    CarrierRequestsOut,
    CarrierStatusSentOut,
    CheckoutCompletedOut,
    CheckoutSessionOut,
    DispatchFaultsOut,
    DispatchTickOut,
    OutboxOut,
    RunStoppedOut,
    ScheduledRunOut,
    SendGridScriptOut,
    StripeRequestsOut,
    ThrottleOut,
    VendorOutageOut,
)
from chalicelib.carriers.ports import CARRIERS as CARRIER_NAMES
from chalicelib.config import settings
from chalicelib.domain.errors import NotFound
from chalicelib.local import dispatch_faults
from chalicelib.local.capture import captured_messages
from chalicelib.local.carriers_fake import UnknownJob
from chalicelib.local.outages import MAX_OUTAGE_S, UnknownVendor, VendorOutages


class Scripted(Protocol):
    """A vendor's stand-in that answers its next calls with given statuses (SendGridFake)."""

    def script(self, statuses: Iterable[int]) -> None: ...


class Throttling(Protocol):
    """The embedded DynamoDB's throttle switch (local/aws_faults.py DynamoDbThrottle)."""

    def throttle(self, table: str | None, seconds: float, rate: float) -> Any: ...


class StripeStandIn(Protocol):
    """The local Stripe stand-in (local/stripe_fake.py StripeFake)."""

    def requests(self) -> list[dict[str, Any]]: ...

    def complete(
        self,
        session_id: str,
        *,
        shipping: dict[str, Any] | None = None,
        shipping_option: int = 0,
        deliveries: int = 1,
    ) -> dict[str, Any]: ...

    def expire(self, session_id: str) -> dict[str, Any]: ...


class NotTheLocalStage(RuntimeError):
    """The local routes were about to be served by a stage other than `local`."""


class UnknownVendorError(NotFound):
    code = "unknown_vendor"


class VendorScriptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    statuses: list[int] = Field(min_length=1, max_length=20)


class OutageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal[429, 500, 502, 503, 504]
    seconds: float = Field(ge=0, le=MAX_OUTAGE_S)  # 0 ends an outage now


class ThrottleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    table: str | None = Field(default=None, min_length=1, max_length=255)  # None: every table
    seconds: float = Field(gt=0, le=3600)
    rate: float = Field(default=1.0, gt=0, le=1)


class ScheduledRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    time: AwareDatetime | None = None  # the time the run is scheduled for (default: now)


class TickIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    trigger: Literal["wave", "rolling"]


class StripeAddressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    city: str = Field(min_length=1, max_length=200)
    postal_code: str = Field(min_length=1, max_length=16)
    country: str = Field(pattern=r"^[A-Z]{2}$")


class StripeShippingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=32)
    address: StripeAddressIn


class CheckoutCompletionIn(BaseModel):
    """What the customer did on Stripe's page: which shipping option, what address; and how
    many times Stripe delivers the event (at least once: 2 shows a duplicate)."""

    model_config = ConfigDict(extra="forbid")
    shipping_option: int = Field(default=0, ge=0, le=100)
    shipping: StripeShippingIn | None = None
    deliveries: int = Field(default=1, ge=1, le=5)


class CourierIn(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)


class CarrierStatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal[
        "pending", "pickup", "pickup_complete", "dropoff", "delivered", "canceled", "returned"
    ]
    courier: CourierIn | None = None
    # DoorDash delivers each webhook up to three times: send it this often.
    repeat: int = Field(default=1, ge=1, le=3)


class CarrierStandIn(Protocol):
    """The partner carriers' stand-ins (local/carriers_fake.py CarrierStandIns)."""

    def received(self) -> list[dict[str, Any]]: ...

    def send_status(
        self,
        endpoint: str,
        carrier: str,
        job_id: str,
        statuses: list[str],
        *,
        courier: dict[str, float] | None = None,
        repeat: int = 1,
    ) -> list[int]: ...


class DispatchFaultIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fault: Literal["optimiser_crash", "commit_crash_halfway", "finish_crash", "stuck_run"]


def local_blueprint(
    sendgrid: Scripted,
    outages: VendorOutages | None = None,
    throttle: Throttling | None = None,
    stripe: StripeStandIn | None = None,
    carriers: CarrierStandIn | None = None,
) -> Blueprint:
    """The local routes, speaking to this runtime's stand-ins."""
    outages = outages or VendorOutages({})
    local = Blueprint(__name__)

    @route(local, "/local/outbox", methods=["GET"])
    def outbox() -> Any:
        return json_response(OutboxOut(messages=captured_messages()).body())

    @route(local, "/local/vendors/sendgrid/script", methods=["POST"])
    def script_sendgrid() -> Any:
        """Make the local SendGrid answer the next sends with these statuses (e.g. [429, 202]):
        to watch throttling and outages being retried, by hand or from a test."""
        body = parse_body(local.current_request, VendorScriptIn)
        sendgrid.script(body.statuses)
        return json_response(SendGridScriptOut(scripted=body.statuses).body())

    @route(local, "/local/vendors/{vendor}/outage", methods=["POST"])
    def vendor_outage(vendor: str) -> Any:
        """Take a vendor's stand-in down: every call it gets answers `status` for `seconds`,
        then it recovers. A vendor with no stand-in in this runtime is 404 `unknown_vendor`
        (an outage nobody applies would make a fault test pass for nothing)."""
        body = parse_body(local.current_request, OutageIn)
        try:
            outages.begin(vendor, body.status, body.seconds)
        except UnknownVendor:
            raise UnknownVendorError(
                f"no local stand-in for {vendor!r}; one of {', '.join(outages.vendors)}"
            ) from None
        outage = VendorOutageOut(vendor=vendor, status=body.status, seconds=body.seconds)
        return json_response(outage.body())

    def _stripe() -> StripeStandIn:
        if stripe is None:
            raise NotFound("this runtime has no Stripe stand-in")
        return stripe

    @route(local, "/local/stripe/requests", methods=["GET"])
    def stripe_requests() -> Any:
        """Every call the Stripe stand-in received, whatever it answered."""
        return json_response(StripeRequestsOut(requests=_stripe().requests()).body())

    @route(local, "/local/stripe/checkout/sessions/{session_id}/complete", methods=["POST"])
    def complete_checkout(session_id: str) -> Any:
        """A customer paying a test Checkout session: Stripe's signed
        checkout.session.completed goes to POST /v1/webhooks/stripe; its answers come back."""
        body = parse_body(local.current_request, CheckoutCompletionIn, optional=True)
        from chalicelib.local.stripe_fake import StripeError  # local stage only

        try:
            done = _stripe().complete(
                session_id,
                shipping=body.shipping.model_dump() if body.shipping else None,
                shipping_option=body.shipping_option,
                deliveries=body.deliveries,
            )
        except StripeError as exc:
            return json_response(
                {"error": {"code": "stripe_refused", "message": str(exc)}}, status=exc.status
            )
        return json_response(CheckoutCompletedOut.model_validate(done).body())

    @route(local, "/local/stripe/checkout/sessions/{session_id}/expire", methods=["POST"])
    def expire_checkout(session_id: str) -> Any:
        """A customer abandoning a session: it expires and nothing is paid."""
        from chalicelib.local.stripe_fake import StripeError  # local stage only

        try:
            session = _stripe().expire(session_id)
        except StripeError as exc:
            return json_response(
                {"error": {"code": "stripe_refused", "message": str(exc)}}, status=exc.status
            )
        return json_response(CheckoutSessionOut.model_validate(session).body())

    @route(local, "/local/aws/throttle", methods=["POST"])
    def throttle_dynamodb() -> Any:
        """Make the embedded DynamoDB refuse `rate` of the requests on `table` (every table when
        none is named) with ProvisionedThroughputExceededException for `seconds`, as DynamoDB
        does when a partition is over its throughput: the SDK's retries and ours get to work."""
        body = parse_body(local.current_request, ThrottleIn)
        if throttle is None:
            raise NotFound("this runtime has no DynamoDB throttle switch")
        throttle.throttle(body.table, body.seconds, body.rate)
        return json_response(
            ThrottleOut(table=body.table, seconds=body.seconds, rate=body.rate).body()
        )

    @route(local, "/local/schedules/{name}", methods=["POST"])
    def run_schedule(name: str) -> Any:
        """Run one of the scheduled jobs now, as of the time EventBridge would have scheduled it
        for (which may be given: e.g. the locker sweep as of three days from now)."""
        job = jobs.SCHEDULED.get(name)
        if job is None:
            raise NotFound(f"no scheduled function {name}; one of {', '.join(jobs.SCHEDULED)}")
        body = parse_body(local.current_request, ScheduledRunIn, optional=True)
        result = job(body.time or datetime.now(UTC))
        return json_response(ScheduledRunOut(function=name, result=result).body())

    @route(local, "/local/depots/{depot_id}/tick", methods=["POST"])
    def dispatch_tick(depot_id: str) -> Any:
        """A depot's wave or rolling schedule fired now: what its Scheduler target does
        (a wave starts a run; a rolling tick only once enough orders wait)."""
        body = parse_body(local.current_request, TickIn)
        tick = bootstrap.dispatch().tick(depot_id, body.trigger)
        return json_response(DispatchTickOut.model_validate(tick).body())

    @route(local, "/local/dispatch/faults", methods=["POST"])
    def inject_dispatch_fault() -> Any:
        """Make the dispatch workflow's runs meet a fault until cleared (local/dispatch_faults)."""
        body = parse_body(local.current_request, DispatchFaultIn)
        dispatch_faults.inject(None, body.fault)
        return json_response(DispatchFaultsOut(faults=dispatch_faults.injected()).body())

    @route(local, "/local/dispatch/faults", methods=["DELETE"])
    def clear_dispatch_faults() -> Any:
        dispatch_faults.clear()
        return json_response(DispatchFaultsOut(faults=dispatch_faults.injected()).body())

    @route(local, "/local/dispatch-runs/{run_id}/stop", methods=["POST"])
    def stop_dispatch_run(run_id: str) -> Any:
        """Stop a run's execution as its timeout or an operator would: no Catch runs (the
        reaper, POST /local/schedules/dispatch_reaper, releases it)."""
        stopped = RunStoppedOut(run_id=run_id, status=dispatch_faults.stop_execution(run_id))
        return json_response(stopped.body())

    @route(local, "/local/carriers/requests", methods=["GET"])
    def carrier_requests() -> Any:
        """Every call the partner carriers' stand-ins received, oldest first."""
        return json_response(
            CarrierRequestsOut(requests=carriers.received() if carriers else []).body()
        )

    @route(local, "/local/carriers/{carrier}/deliveries/{job_id}/status", methods=["POST"])
    def carrier_status(carrier: str, job_id: str) -> Any:
        """Make a carrier's stand-in move its delivery on and send its signed status webhook to
        POST /v1/webhooks/carriers/{carrier}, as the real carrier would; our answers."""
        body = parse_body(local.current_request, CarrierStatusIn)
        if carriers is None or carrier not in CARRIER_NAMES:
            raise NotFound(f"no local stand-in for carrier {carrier!r}")
        endpoint = f"{settings().public_base_url}/v1/webhooks/carriers/{carrier}"
        courier = body.courier.model_dump() if body.courier else None
        try:
            answers = carriers.send_status(
                endpoint, carrier, job_id, [body.status], courier=courier, repeat=body.repeat
            )
        except UnknownJob:
            raise NotFound(f"the {carrier} stand-in has no delivery {job_id}") from None
        return json_response(
            CarrierStatusSentOut(carrier=carrier, job_id=job_id, answers=answers).body()
        )

    return local


def serve_local_routes(
    app: Chalice,
    sendgrid: Scripted,
    outages: VendorOutages | None = None,
    throttle: Throttling | None = None,
    stripe: StripeStandIn | None = None,
    carriers: CarrierStandIn | None = None,
) -> None:
    """Add the local routes to `app`: in the local stage only, so that no other stage ever
    answers them."""
    if not settings().is_local:
        raise NotTheLocalStage(f"the local routes are not served in stage {settings().stage}")
    app.register_blueprint(local_blueprint(sendgrid, outages, throttle, stripe, carriers))
