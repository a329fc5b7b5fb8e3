"""The operators' analytics and fulfilment-location answers and a carrier webhook's, built by
their reply models from the real services (stateful fakes) and the real store (moto in
process): each is the body the views sent before, field for field and nulls included, and holds
to the schema the OpenAPI document generates from the model."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Any, get_args

import pytest
from jsonschema import Draft202012Validator, ValidationError

from chalicelib.allocation.stock_levels import StockLevels
from chalicelib.analytics.facts import Fact, failed_fact, order_fact
from chalicelib.analytics.metrics import DEFINITIONS, GROUPINGS, Cell
from chalicelib.analytics.summary import AnalyticsService, Viewer
from chalicelib.api.openapi import document
from chalicelib.api.operator_replies import (
    AnalyticsDefinitions,
    AnalyticsForecast,
    AnalyticsSummary,
    Carriers,
    CarrierWebhookOutcome,
    Fulfilment,
    ShopifyInventory,
)
from chalicelib.api.stock import CarriersIn, FulfilmentIn
from chalicelib.domain.errors import MerchantNotFound
from chalicelib.domain.tenancy import Depot, Merchant
from chalicelib.forecasting.handler import handler
from chalicelib.forecasting.serving import ForecastService
from chalicelib.store.forecasts import StoredForecast
from chalicelib.store.tenancy import TenancyRepository
from tests.unit.carriers.test_webhooks import handed, setup
from tests.unit.test_analytics_metrics import LONDON, delivered, fold


def valid(name: str, answer: dict[str, Any]) -> None:
    schema = {"$ref": f"#/components/schemas/{name}", "components": document()["components"]}
    Draft202012Validator(schema).validate(answer)


DEPOT = Depot("dep_1", "Bermondsey", 51.5, -0.08, "Europe/London", "2026-01-01T00:00:00Z")

# --- the forecast ---------------------------------------------------------------------------


class Forecasts:
    """Each depot's newest forecast, as the store keeps it (its answer round-trips as JSON)."""

    def __init__(self, *stored: StoredForecast) -> None:
        self.by_depot = {s.depot_id: s for s in stored}

    def get(self, depot_id: str) -> StoredForecast | None:
        return self.by_depot.get(depot_id)


class Depots:
    def depot(self, depot_id: str) -> Depot:
        return replace(DEPOT, depot_id=depot_id)


STORED = StoredForecast(
    "dep_1",
    "2026-03-10T03:00:00+00:00",
    "2025-02-03",
    "2026-03-09",
    {
        "days": [
            {"date": "2026-03-10", "orders_p50": 41.5, "orders_p90": 48.25, "vehicles_needed": 5},
            {"date": "2026-03-11", "orders_p50": 39.0, "orders_p90": 45.0, "vehicles_needed": 4},
            {"date": "2026-03-12", "orders_p50": 0.0, "orders_p90": 2.5, "vehicles_needed": 1},
        ],
        "model": "damped-trend-fourier/1",
        "backtest": {"mase": None, "baseline_mase": None},
    },
)


def test_the_forecast_is_the_stored_answer_cut_to_the_days_asked_its_nulls_sent() -> None:
    service = ForecastService(Forecasts(STORED), Depots())

    answer = AnalyticsForecast.model_validate(service.forecast("dep_1", "2")).body()

    assert answer == {
        "depot_id": "dep_1",
        "days": [
            {"date": "2026-03-10", "orders_p50": 41.5, "orders_p90": 48.25, "vehicles_needed": 5},
            {"date": "2026-03-11", "orders_p50": 39.0, "orders_p90": 45.0, "vehicles_needed": 4},
        ],
        "model": "damped-trend-fourier/1",
        "backtest": {"mase": None, "baseline_mase": None},
        "made_at": "2026-03-10T03:00:00+00:00",
        "history": {"from": "2025-02-03", "to": "2026-03-09"},
    }
    valid("AnalyticsForecast", answer)
    with pytest.raises(ValidationError):  # the document holds the backtest's nulls as required
        valid("AnalyticsForecast", {**answer, "backtest": {"mase": None}})


def test_the_forecasting_functions_own_answer_passes_through_unchanged() -> None:
    # A year of a weekly pattern: the handler backtests it (numbers, not nulls).
    week = [100.0, 110.0, 105.0, 120.0, 140.0, 180.0, 40.0]
    orders = [week[i % 7] + 0.05 * i for i in range(400)]
    made = handler({"start": "2025-01-06", "orders": orders, "stops_per_route": 12})
    stored = StoredForecast("dep_1", "2026-02-10T03:00:00+00:00", "2025-01-06", "2026-02-09", made)
    old = ForecastService(Forecasts(stored), Depots()).forecast("dep_1", None)

    answer = AnalyticsForecast.model_validate(old).body()

    assert answer == old  # what json_response(service answer) sent before
    assert isinstance(answer["backtest"]["mase"], float) and len(answer["days"]) == 7
    valid("AnalyticsForecast", answer)


# --- the summary ----------------------------------------------------------------------------


class Facts:
    """Aggregate cells, read the way the fact store reads them (by day, depot and merchant)."""

    def __init__(self, facts: list[Fact]) -> None:
        self._cells = fold(facts)

    def cells(
        self, days: Iterable[str], *, depot_id: str | None, merchant_id: str | None
    ) -> Iterator[Cell]:
        wanted = set(days)
        return iter(
            [
                c
                for c in self._cells
                if c.day in wanted
                and depot_id in (None, c.depot_id)
                and merchant_id in (None, c.merchant_id)
            ]
        )

    def facts_of_day(self, depot_id: str, day: str) -> Iterator[Fact]:
        return iter(())


class Tenants:
    def depot(self, depot_id: str) -> Depot:
        return replace(DEPOT, depot_id=depot_id)

    def merchant(self, merchant_id: str) -> Merchant:
        return Merchant(merchant_id, "Shop", "dep_1", "2026-01-01T00:00:00Z")


FACTS = [
    delivered("o1", "2026-03-02T10:00:00Z"),
    failed_fact("o2", "mer_b", "dep_1", "2026-03-02T10:20:00Z", None, 1, None, LONDON),
    order_fact("cancellation", "o3", "mer_b", "dep_1", "2026-03-02T11:00:00Z", LONDON),
]


def test_a_merchants_summary_sends_every_metric_the_unmeasured_as_null() -> None:
    service = AnalyticsService(Facts(FACTS), Tenants())
    old = service.summary(Viewer("mer_a"), "2026-03-01", "2026-03-02")

    answer = AnalyticsSummary.model_validate(old).body()

    nothing = {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}
    assert answer == {
        "from": "2026-03-01",
        "to": "2026-03-02",
        "group_by": "day",
        "depot_id": None,
        "merchant_id": "mer_a",
        "groups": [
            {
                "key": "2026-03-02",
                "orders": 1,
                "delivered": 1,
                "failed_attempts": 0,
                "returned": 0,
                "cancelled": 0,
                "first_attempt_success_rate": 1.0,
                "on_time_rate": None,
                "otif_rate": None,
                "median_delivery_minutes": 120,
                "p90_delivery_minutes": 120,
                "avg_out_to_delivered_minutes": 60.0,
                "tasks_per_hour": None,
                "km_per_stop": 5.0,
                "stops_per_route": None,
                "co2e_g_per_parcel": 1550.0,
                "rating_avg": None,
                "ratings": 0,
                "rating_distribution": nothing,
                "failed_by_reason": {},
                "locker_share": 0.0,
                "deposits": 0,
                "collections": 0,
                "avg_collection_minutes": None,
                "expiries": 0,
                "avg_service_minutes": None,
                "avg_delay_minutes": None,
                "routes": None,
                "planned_route_minutes": None,
                "actual_route_minutes": None,
                "route_co2e_g": None,
            }
        ],
        "definitions": DEFINITIONS,
    }
    assert answer == old
    valid("AnalyticsSummary", answer)
    with pytest.raises(ValidationError):  # a null the answer sends is required in the document
        valid("AnalyticsSummary", {k: v for k, v in answer.items() if k != "depot_id"})


@pytest.mark.parametrize("group_by", GROUPINGS)
def test_the_operators_summary_in_every_grouping_is_what_was_sent_before(group_by: str) -> None:
    service = AnalyticsService(Facts(FACTS), Tenants())
    old = service.summary(Viewer(), "2026-03-02", "2026-03-02", depot_id="dep_1", group_by=group_by)

    answer = AnalyticsSummary.model_validate(old).body()

    assert answer == old and answer["groups"]
    valid("AnalyticsSummary", answer)


def test_every_metric_has_its_definition_and_every_grouping_its_name() -> None:
    # A metric defined but not in the model (or the reverse) would fail every summary.
    assert AnalyticsDefinitions.model_validate(DEFINITIONS).model_dump() == DEFINITIONS
    assert get_args(AnalyticsSummary.model_fields["group_by"].annotation) == GROUPINGS


# --- fulfilment settings and carriers, through the real store -------------------------------


@pytest.fixture
def depots(models_in_process: Callable[[str], Any]) -> TenancyRepository:
    models_in_process("operator-replies-main")
    repo = TenancyRepository()
    repo.create_depot(DEPOT)
    return repo


SQUARE = [[-0.2, 51.4], [0.1, 51.4], [0.1, 51.6], [-0.2, 51.6], [-0.2, 51.4]]
HOLE = [[-0.1, 51.45], [0.0, 51.45], [0.0, 51.5], [-0.1, 51.45]]


@pytest.mark.parametrize(
    ("put", "stored"),
    [
        (
            {
                "service_area": {"radius_km": 25},
                "daily_capacity": {"orders": 500},
                "cutoff": "14:00",
                "cutoffs": {"sat": "12:00", "sun": None},
            },
            {
                "service_area": {"radius_km": 25.0},
                "daily_capacity": {"orders": 500},
                "cutoff": "14:00",
                "cutoffs": {"sat": "12:00", "sun": None},
            },
        ),
        (
            {
                "service_area": {"geojson": {"type": "Polygon", "coordinates": [SQUARE, HOLE]}},
                "daily_capacity": {"parcels": 900},
            },
            {
                "service_area": {"geojson": {"type": "Polygon", "coordinates": [SQUARE, HOLE]}},
                "daily_capacity": {"parcels": 900},
            },
        ),
        (
            {"service_area": {"geojson": {"type": "MultiPolygon", "coordinates": [[SQUARE]]}}},
            {"service_area": {"geojson": {"type": "MultiPolygon", "coordinates": [[SQUARE]]}}},
        ),
        ({}, {}),
    ],
    ids=["radius-capacity-cutoffs", "polygon-with-hole", "multipolygon", "nothing-set"],
)
def test_the_fulfilment_settings_are_sent_as_stored(
    depots: TenancyRepository, put: dict[str, Any], stored: dict[str, Any]
) -> None:
    depot = depots.set_fulfilment("dep_1", FulfilmentIn.model_validate(put).stored())

    answer = Fulfilment.of(depot).body()

    assert answer == {"depot_id": "dep_1", "fulfilment": stored}
    read_back = depots.get_depot("dep_1")
    assert read_back is not None and Fulfilment.of(read_back).body() == answer
    valid("Fulfilment", answer)


def test_a_depot_that_never_had_settings_answers_an_empty_object(
    depots: TenancyRepository,
) -> None:
    depot = depots.get_depot("dep_1")
    assert depot is not None
    answer = Fulfilment.of(depot).body()
    assert answer == {"depot_id": "dep_1", "fulfilment": {}}
    valid("Fulfilment", answer)


def test_the_carriers_are_sent_as_put_and_none_is_an_empty_list(
    depots: TenancyRepository,
) -> None:
    body = {
        "carriers": [
            {"carrier": "uber_direct", "max_price": {"amount": 1200, "currency": "GBP"}},
            {
                "carrier": "doordash_drive",
                "max_price": {"amount": 990, "currency": "GBP"},
                "enabled": False,
            },
        ]
    }
    depot = depots.set_carriers("dep_1", CarriersIn.model_validate(body).model_dump()["carriers"])

    answer = Carriers.of(depot).body()

    assert answer == {
        "depot_id": "dep_1",
        "carriers": [
            {
                "carrier": "uber_direct",
                "max_price": {"amount": 1200, "currency": "GBP"},
                "enabled": True,
            },
            {
                "carrier": "doordash_drive",
                "max_price": {"amount": 990, "currency": "GBP"},
                "enabled": False,
            },
        ],
    }
    valid("Carriers", answer)
    empty = Carriers.of(depots.set_carriers("dep_1", [])).body()
    assert empty == {"depot_id": "dep_1", "carriers": []}
    valid("Carriers", empty)


# --- the Shopify inventory map --------------------------------------------------------------


class Accounts:
    def __init__(self, *merchants: Merchant) -> None:
        self.merchants = {m.merchant_id: m for m in merchants}

    def merchant(self, merchant_id: str) -> Merchant:
        if merchant_id not in self.merchants:
            raise MerchantNotFound(f"no merchant {merchant_id}")
        return self.merchants[merchant_id]


class InventoryMaps:
    def __init__(self) -> None:
        self.maps: dict[str, tuple[dict[str, str], dict[str, str], str]] = {}

    def put_inventory_map(
        self, merchant_id: str, locations: dict[str, str], items: dict[str, str], at: str
    ) -> None:
        self.maps[merchant_id] = (dict(locations), dict(items), at)


def test_the_shopify_inventory_map_is_sent_as_put() -> None:
    merchant = Merchant("mer_a", "Shop", "dep_1", "2026-01-01T00:00:00Z", depot_ids=("dep_1",))
    maps = InventoryMaps()
    stock = StockLevels(
        maps,  # type: ignore[arg-type]
        Accounts(merchant),  # type: ignore[arg-type]
        clock=lambda: "2026-03-02T10:00:00Z",
    )
    locations, items = {"655441491": "dep_1"}, {"271878346596": "BOWL-HT", "271878346597": "MUG"}

    answer = ShopifyInventory.of("mer_a", stock.map_shopify("mer_a", locations, items)).body()

    assert answer == {
        "merchant_id": "mer_a",
        "locations": {"655441491": "dep_1"},
        "items": {"271878346596": "BOWL-HT", "271878346597": "MUG"},
    }
    assert maps.maps["mer_a"][:2] == (locations, items)
    valid("ShopifyInventory", answer)


# --- a partner carrier's webhook ------------------------------------------------------------


def test_a_carrier_status_answers_applied_then_unchanged_when_sent_again() -> None:
    adapter, orders, hooks = setup(handed())
    adapter.status = "pickup"

    first = CarrierWebhookOutcome.of(hooks.receive("uber_direct", b"{}", {})).body()
    again = CarrierWebhookOutcome.of(hooks.receive("uber_direct", b"{}", {})).body()

    assert (first, again) == ({"outcome": "applied"}, {"outcome": "unchanged"})
    assert len(orders.writes) == 1
    valid("CarrierWebhookOutcome", first)
    valid("CarrierWebhookOutcome", again)
