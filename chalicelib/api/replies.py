"""The bodies of answers that pydantic models shape: a view builds the model from domain
objects and dumps it, and the OpenAPI document takes each model's JSON schema
(`components.add_reply`), so what is sent and what is documented cannot drift apart. A reply
model lists every field it sends: nothing reaches an answer that is not named here (a merchant's
keys and secrets have no field, so no answer can carry them)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain.dispatch import Run
from chalicelib.domain.tenancy import Depot, Merchant


class Reply(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def body(self) -> dict[str, Any]:
        """The JSON body: fields that are None are left out (schemas list them as optional)."""
        return self.model_dump(mode="json", exclude_none=True)


class DepotOut(Reply):
    depot_id: str
    name: str
    lat: float
    lng: float
    timezone: str
    created_at: str
    dispatch: dict[str, Any] = Field(description="the dispatch policy as last put")
    fulfilment: dict[str, Any] = Field(
        default_factory=dict, description="as a fulfilment location: area, daily capacity, cut-off"
    )

    @classmethod
    def of(cls, depot: Depot) -> DepotOut:
        return cls(
            depot_id=depot.depot_id,
            name=depot.name,
            lat=depot.lat,
            lng=depot.lng,
            timezone=depot.timezone,
            created_at=depot.created_at,
            dispatch=dict(depot.dispatch),
            fulfilment=dict(depot.fulfilment),
        )


class MerchantOut(Reply):
    """A merchant's profile: never its API key, webhook secret or storefront secrets."""

    merchant_id: str
    name: str
    depot_id: str
    created_at: str
    stripe_account_id: str | None = None
    notifications_off: list[str] = Field(description='"<message type>:<channel>" switched off')
    depot_ids: list[str] = Field(
        description="the depots that may fulfil its orders, depot_id first"
    )

    @classmethod
    def of(cls, merchant: Merchant) -> MerchantOut:
        return cls(
            merchant_id=merchant.merchant_id,
            name=merchant.name,
            depot_id=merchant.depot_id,
            created_at=merchant.created_at,
            stripe_account_id=merchant.stripe_account_id,
            notifications_off=list(merchant.notifications_off),
            depot_ids=list(merchant.serving_depots),
        )


class DispatchPolicyOut(Reply):
    depot_id: str
    dispatch: dict[str, Any] = Field(description="waves, rolling, horizon_hours, time_limit_s...")

    @classmethod
    def of(cls, depot: Depot) -> DispatchPolicyOut:
        return cls(depot_id=depot.depot_id, dispatch=dict(depot.dispatch))


class RunSummaryOut(Reply):
    """A run as the depot's list shows it; GET /v1/dispatch-runs/{run_id} has its routes."""

    run_id: str
    depot_id: str
    status: Literal["running", "succeeded", "failed"]
    trigger: str
    started_at: str
    finished_at: str | None = None
    error: str | None = None
    figures: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def of(cls, run: Run) -> RunSummaryOut:
        return cls(
            run_id=run.run_id,
            depot_id=run.depot_id,
            status=str(run.status),  # type: ignore[arg-type]
            trigger=run.trigger,
            started_at=run.started_at,
            finished_at=run.finished_at,
            error=run.error,
            figures=dict(run.figures),
        )


class _Page(Reply):
    next_cursor: str | None = Field(
        description="pass as `cursor` for the next page; null after the last"
    )

    def body(self) -> dict[str, Any]:
        # Unlike other fields, a null next_cursor is sent: it is how a client knows it is done.
        return {**super().body(), "next_cursor": self.next_cursor}


class DepotsPage(_Page):
    items: list[DepotOut]


class MerchantsPage(_Page):
    items: list[MerchantOut]


class DispatchRunsPage(_Page):
    items: list[RunSummaryOut]


class DepotCreated(Reply):
    depot_id: str


class MerchantCreated(Reply):
    """The one answer that shows a merchant's keys: they are not kept to be shown again."""

    merchant_id: str
    api_key: str = Field(description="the merchant's API key, shown this once")
    webhook_secret: str = Field(
        pattern="^whsec_", description="the Standard Webhooks secret of its generic endpoint"
    )


class SecretRotated(Reply):
    merchant_id: str
    platform: Literal["shopify", "woocommerce"]


class DispatchStarted(Reply):
    run_id: str
    started: bool = Field(description="false: the run already running is answered")


class IntakeOut(Reply):
    """What a storefront's event did: the order it applied to, or why it changed nothing."""

    outcome: str = Field(
        description="created, updated, cancelled, duplicate, stale or ignored (an inventory "
        "event: what it did to the stock level)"
    )
    order_id: str | None = None
    reason: str | None = None


class RouteEventOut(Reply):
    """What a driver's event did. Besides these, an applied event may say more of its kind
    (`fix` and `ignored` for a ping, the locker's doors for a deposit)."""

    model_config = ConfigDict(extra="allow")

    route_id: str
    outcome: Literal["applied", "duplicate"]
    order_id: str | None = None
    status: str | None = None
    next_stop: dict[str, Any] | None = Field(default=None, description="the stop to drive to")
    fix: Literal["used", "ignored"] | None = None
