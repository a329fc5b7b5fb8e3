"""The bodies of the local runtime's test hooks (api/local.py): what its stand-ins captured,
what a hook switched on, what a scheduled job or a dispatch tick gave. Each answer's model is
its OpenAPI schema (openapi/local.py), documented in the local stage only. What a vendor's
stand-in recorded in the vendor's own shape (a captured message, a call Stripe or a carrier
received) stays a free-form record: the vendor defines it, not us."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.api.replies import Reply


class OutboxOut(Reply):
    messages: list[dict[str, Any]] = Field(
        description="every email and SMS captured instead of sent, oldest first: {channel: "
        "email|sms, to, subject?, body, order_id, at}"
    )


class SendGridScriptOut(Reply):
    scripted: list[int] = Field(description="the statuses the local SendGrid answers next, in turn")


class VendorOutageOut(Reply):
    vendor: str
    status: int = Field(description="what the stand-in answers every call with")
    seconds: float = Field(description="for how long from now (0: the outage is over)")


class StripeRequestsOut(Reply):
    requests: list[dict[str, Any]] = Field(
        description="every call the Stripe stand-in received, oldest first: {method, path, "
        "params, idempotency_key, at, status}"
    )


class CheckoutSessionOut(Reply):
    """A Checkout session as the Stripe stand-in holds it (Stripe's field names); the fields
    only a completed session has are left out until it has them, a null is sent as null."""

    id: str
    object: str
    mode: str
    status: str = Field(description="open, complete or expired")
    payment_status: str = Field(description="unpaid, paid or no_payment_required")
    amount_total: int = Field(description="minor units, the chosen shipping included once paid")
    currency: str | None
    metadata: dict[str, Any]
    client_reference_id: str | None
    success_url: str
    cancel_url: str | None
    url: str
    created: int
    expires_at: int
    shipping_options: list[dict[str, Any]] = Field(description="{shipping_amount, shipping_rate}")
    livemode: bool
    shipping_cost: dict[str, Any] | None = Field(default=None, description="once paid")
    collected_information: dict[str, Any] | None = Field(
        default=None, description="the shipping details the customer gave"
    )
    customer_details: dict[str, Any] | None = None

    def body(self) -> dict[str, Any]:
        """The session's fields as it has them: the nulls it holds included."""
        return self.model_dump(mode="json", exclude_unset=True)


class WebhookAnswerOut(BaseModel):
    """One delivery's answer (not a Reply: its `body` field would hide Reply.body)."""

    model_config = ConfigDict(extra="forbid")
    status: int
    body: dict[str, Any] = Field(description="the JSON POST /v1/webhooks/stripe answered")


class CheckoutCompletedOut(Reply):
    event_id: str = Field(description="the checkout.session.completed event sent")
    session: CheckoutSessionOut
    webhook: list[WebhookAnswerOut] = Field(description="one answer per delivery of the event")

    def body(self) -> dict[str, Any]:
        """As the session holds its fields: its nulls included (CheckoutSessionOut.body)."""
        return self.model_dump(mode="json", exclude_unset=True)


class CarrierRequestsOut(Reply):
    requests: list[dict[str, Any]] = Field(
        description="every call the partner carriers' stand-ins received, oldest first: "
        "{carrier, method, path, body, at, status}"
    )


class CarrierStatusSentOut(Reply):
    carrier: str
    job_id: str
    answers: list[int] = Field(description="the status our webhook answered each delivery with")


class DispatchTickOut(Reply):
    """What a depot's schedule firing did: a run started (or the one running named), or, for a
    rolling tick with too few orders waiting, nothing and how many wait."""

    depot_id: str
    started: bool = Field(description="whether this tick started a run")
    run_id: str | None = Field(
        default=None, description="the run started, or the one already running"
    )
    waiting: int | None = Field(
        default=None, description="a rolling tick that started nothing: the orders waiting"
    )


class DispatchFaultsOut(Reply):
    faults: list[str] = Field(description="the dispatch faults in force, by name")


class RunStoppedOut(Reply):
    run_id: str
    status: str = Field(description="its execution's status after: ABORTED, or how it had ended")


class ThrottleOut(Reply):
    table: str | None = Field(description="the table throttled; null: every table")
    seconds: float
    rate: float = Field(description="the share of requests refused, 0..1")

    def body(self) -> dict[str, Any]:
        """Every field, a null table included."""
        return self.model_dump(mode="json")


class ScheduledRunOut(Reply):
    function: str
    result: dict[str, Any] = Field(description="what the job reports, its own shape")


LOCAL_REPLIES = (
    OutboxOut,
    SendGridScriptOut,
    VendorOutageOut,
    StripeRequestsOut,
    CheckoutSessionOut,
    CheckoutCompletedOut,
    CarrierRequestsOut,
    CarrierStatusSentOut,
    DispatchTickOut,
    DispatchFaultsOut,
    RunStoppedOut,
    ThrottleOut,
    ScheduledRunOut,
)
