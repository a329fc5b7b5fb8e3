"""The bodies of the operators' analytics and fulfilment-location answers, and of a partner
carrier's webhook: reply models (api/replies.py's `Reply`) that the views dump and the OpenAPI
document takes its schemas from (api/openapi/analytics.py, stock.py, carrier_webhooks.py)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date as Day
from typing import Annotated, Any, Literal

from pydantic import Field

from chalicelib.allocation.areas import DEFAULT_RADIUS_KM
from chalicelib.analytics.metrics import DEFINITIONS
from chalicelib.api.replies import Reply
from chalicelib.domain.tenancy import Depot
from chalicelib.forecasting.serving import MAX_DAYS as MAX_FORECAST_DAYS

# --- GET /v1/analytics/forecast ------------------------------------------------------------


class AnalyticsForecastDay(Reply):
    date: Day = Field(description="a depot-local day")
    orders_p50: float = Field(ge=0, description="orders forecast: the median")
    orders_p90: float = Field(ge=0, description="orders forecast: the 90th percentile")
    vehicles_needed: int = Field(
        ge=0, description="vehicles the p90 day needs at the depot's average stops per route"
    )


class AnalyticsForecastBacktest(Reply):
    """The model's rolling-origin backtest; both null when the history is too short to test."""

    mase: float | None = Field(ge=0, description="the model's MASE")
    baseline_mase: float | None = Field(ge=0, description="the seasonal-naive baseline's MASE")


class AnalyticsForecastHistory(Reply):
    from_: Day = Field(alias="from", description="first day of the history the model was fit on")
    to: Day = Field(description="its last day (the day before the run)")


class AnalyticsForecast(Reply):
    """A depot's forecast as the daily run stored it, cut to the days asked for."""

    depot_id: str
    days: list[AnalyticsForecastDay] = Field(max_length=MAX_FORECAST_DAYS)
    model: str = Field(description="the forecasting model's name and version")
    backtest: AnalyticsForecastBacktest
    made_at: str = Field(
        description="when the daily run made it (ISO 8601)",
        json_schema_extra={"format": "date-time"},
    )
    history: AnalyticsForecastHistory

    def body(self) -> dict[str, Any]:
        # The backtest's nulls are sent: they say the history was too short to test.
        return self.model_dump(mode="json", by_alias=True)


# --- GET /v1/analytics/summary -------------------------------------------------------------


def _metric(name: str, **constraints: Any) -> Any:
    """A metric's field, described by its definition (the one `definitions` serves)."""
    return Field(description=DEFINITIONS[name], **constraints)


Rate = Annotated[float | None, Field(ge=0, le=1)]
Figure = Annotated[float | None, Field(ge=0)]
WholeMinutes = Annotated[int | None, Field(ge=0)]
Count = Annotated[int, Field(ge=0)]


class AnalyticsGroup(Reply):
    """One group's metrics: every field is sent, a figure nothing measured as null (a
    merchant's share has no route-level figures)."""

    key: str = Field(
        description="the group's day (YYYY-MM-DD), depot id, merchant id or vehicle id; `-` "
        "for what no vehicle carried (grouped by vehicle)"
    )
    orders: Count = _metric("orders")
    delivered: Count = _metric("delivered")
    failed_attempts: Count = _metric("failed_attempts")
    returned: Count = _metric("returned")
    cancelled: Count = _metric("cancelled")
    first_attempt_success_rate: Rate = _metric("first_attempt_success_rate")
    on_time_rate: Rate = _metric("on_time_rate")
    otif_rate: Rate = _metric("otif_rate")
    median_delivery_minutes: WholeMinutes = _metric("median_delivery_minutes")
    p90_delivery_minutes: WholeMinutes = _metric("p90_delivery_minutes")
    avg_out_to_delivered_minutes: Figure = _metric("avg_out_to_delivered_minutes")
    tasks_per_hour: Figure = _metric("tasks_per_hour")
    km_per_stop: Figure = _metric("km_per_stop")
    stops_per_route: Figure = _metric("stops_per_route")
    co2e_g_per_parcel: Figure = _metric("co2e_g_per_parcel")
    rating_avg: float | None = _metric("rating_avg", ge=1, le=5)
    ratings: Count = _metric("ratings")
    rating_distribution: dict[str, Count] = _metric("rating_distribution")
    failed_by_reason: dict[str, Count] = Field(
        description="failed attempts by reason (reasons with none left out)"
    )
    locker_share: Rate = _metric("locker_share")
    deposits: Count = Field(description="parcels deposited in a locker")
    collections: Count = Field(description="locker parcels collected by the customer")
    avg_collection_minutes: Figure = _metric("avg_collection_minutes")
    expiries: Count = _metric("expiries")
    avg_service_minutes: Figure = _metric("avg_service_minutes")
    avg_delay_minutes: Figure = _metric("avg_delay_minutes")
    routes: int | None = Field(ge=0, description="routes completed (null for a merchant's share)")
    planned_route_minutes: Figure = _metric("planned_route_minutes")
    actual_route_minutes: Figure = _metric("actual_route_minutes")
    route_co2e_g: Figure = _metric("route_co2e_g")


class AnalyticsDefinitions(Reply):
    """Each metric's definition, by its name in a group."""

    orders: str
    delivered: str
    failed_attempts: str
    returned: str
    cancelled: str
    first_attempt_success_rate: str
    on_time_rate: str
    otif_rate: str
    median_delivery_minutes: str
    p90_delivery_minutes: str
    avg_out_to_delivered_minutes: str
    tasks_per_hour: str
    km_per_stop: str
    stops_per_route: str
    co2e_g_per_parcel: str
    rating_avg: str
    ratings: str
    rating_distribution: str
    locker_share: str
    avg_collection_minutes: str
    expiries: str
    avg_service_minutes: str
    avg_delay_minutes: str
    planned_route_minutes: str
    actual_route_minutes: str
    route_co2e_g: str


class AnalyticsSummary(Reply):
    """A period's metrics by group, with their definitions (days are the depot's local days)."""

    from_: Day = Field(alias="from", description="the period's first day")
    to: Day = Field(description="its last day")
    group_by: Literal["day", "depot", "merchant", "vehicle"]
    depot_id: str | None = Field(description="the one depot asked for; null: every depot")
    merchant_id: str | None = Field(
        description="the one merchant asked for (a merchant's key: its own); null: every merchant"
    )
    groups: list[AnalyticsGroup] = Field(description="sorted by key")
    definitions: AnalyticsDefinitions

    def body(self) -> dict[str, Any]:
        # Nulls are sent: an unmeasured figure, or no depot or merchant filter.
        return self.model_dump(mode="json", by_alias=True)


# --- PUT/GET /v1/depots/{depot_id}/fulfilment ----------------------------------------------

Position = Annotated[
    list[float], Field(min_length=2, max_length=3, description="[lng, lat], maybe an altitude")
]
Ring = Annotated[list[Position], Field(description="closed: it ends where it starts")]


class FulfilmentPolygon(Reply):
    type: Literal["Polygon"]
    coordinates: list[Ring] = Field(description="the outer ring, then its holes")


class FulfilmentMultiPolygon(Reply):
    type: Literal["MultiPolygon"]
    coordinates: list[list[Ring]] = Field(description="polygons: each an outer ring and holes")


class FulfilmentServiceArea(Reply):
    """One of: a radius around the depot, or a GeoJSON (Multi)Polygon."""

    radius_km: float | None = Field(default=None, gt=0, description="around the depot")
    geojson: (
        Annotated[FulfilmentPolygon | FulfilmentMultiPolygon, Field(discriminator="type")] | None
    ) = None


class FulfilmentDailyCapacity(Reply):
    """One of: orders, or parcels, the depot sends per local day."""

    orders: int | None = Field(default=None, ge=0)
    parcels: int | None = Field(default=None, ge=0)


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class FulfilmentSettings(Reply):
    """The depot as a fulfilment location, as last put (each part left out when not set)."""

    service_area: FulfilmentServiceArea | None = Field(
        default=None, description=f"where it delivers; not set: {DEFAULT_RADIUS_KM:g} km around it"
    )
    daily_capacity: FulfilmentDailyCapacity | None = Field(
        default=None, description="not set: no limit"
    )
    cutoff: str | None = Field(
        default=None,
        description="local HH:MM: an order without a window received before it is promised "
        "for today, after it for the next delivery day; not set: the day it arrives",
    )
    cutoffs: dict[Weekday, str | None] | None = Field(
        default=None,
        description="per weekday: another cut-off HH:MM, or null where the depot does not "
        "deliver that day",
    )


class Fulfilment(Reply):
    depot_id: str
    fulfilment: FulfilmentSettings

    @classmethod
    def of(cls, depot: Depot) -> Fulfilment:
        return cls(
            depot_id=depot.depot_id, fulfilment=FulfilmentSettings.model_validate(depot.fulfilment)
        )


# --- PUT/GET /v1/depots/{depot_id}/carriers ------------------------------------------------


class DepotCarrierMaxPrice(Reply):
    amount: int = Field(ge=0, description="minor units (pence, cents)")
    currency: str = Field(description="ISO 4217, upper case")


class DepotCarrier(Reply):
    carrier: Literal["uber_direct", "doordash_drive"]
    max_price: DepotCarrierMaxPrice = Field(description="the most it may charge per delivery")
    enabled: bool


class Carriers(Reply):
    """The partner carriers offered the orders the depot's fleet cannot take."""

    depot_id: str
    carriers: list[DepotCarrier]

    @classmethod
    def of(cls, depot: Depot) -> Carriers:
        return cls(
            depot_id=depot.depot_id,
            carriers=[DepotCarrier.model_validate(c) for c in depot.carriers],
        )


# --- PUT /v1/merchants/{merchant_id}/shopify-inventory -------------------------------------


class ShopifyInventory(Reply):
    merchant_id: str
    locations: dict[str, str] = Field(description="Shopify location id -> depot id")
    items: dict[str, str] = Field(description="Shopify inventory item id -> SKU")

    @classmethod
    def of(cls, merchant_id: str, stored: Mapping[str, Any]) -> ShopifyInventory:
        return cls(merchant_id=merchant_id, locations=stored["locations"], items=stored["items"])


# --- POST /v1/webhooks/carriers/{carrier} --------------------------------------------------


class CarrierWebhookOutcome(Reply):
    outcome: Literal["applied", "unchanged"] = Field(
        description="unchanged: a stale, duplicated or unordered status, or one for a job or "
        "order state it no longer applies to (acknowledged all the same)"
    )

    @classmethod
    def of(cls, changed: bool) -> CarrierWebhookOutcome:
        return cls(outcome="applied" if changed else "unchanged")
