"""The analytics part of the OpenAPI document: the summary and the orders' CSV (operator: any
depot or merchant; merchant: its own orders only; api/analytics.py)."""

from __future__ import annotations

from typing import Any

from chalicelib.analytics.metrics import DEFINITIONS, GROUPINGS
from chalicelib.analytics.summary import CSV_COLUMNS, MAX_CSV_DAYS, MAX_SUMMARY_DAYS
from chalicelib.api.openapi.components import object_schema, op, query
from chalicelib.forecasting.serving import MAX_DAYS as MAX_FORECAST_DAYS

_RATE = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
_NUMBER = {"type": ["number", "null"], "minimum": 0}
_COUNT = {"type": "integer", "minimum": 0}
_COUNTS = {"type": "object", "additionalProperties": _COUNT}
_DATE = "a depot-local day, YYYY-MM-DD"


def _period(max_days: int) -> list[dict[str, Any]]:
    return [
        query("from", f"first day, {_DATE}", required=True, format="date"),
        query(
            "to",
            f"last day, {_DATE} (at most {max_days} days from `from`)",
            required=True,
            format="date",
        ),
    ]


def paths() -> dict[str, dict[str, Any]]:
    refusals = {
        "401": "neither an operator key nor a merchant key",
        "404": "no such depot, or another merchant's id",
        "422": "a date, range or group invalid (named in `field`)",
    }
    summary = op(
        "A period's delivery metrics by day, depot, merchant or vehicle, with their definitions "
        "(rates 0..1, null when nothing was measured; days are the depot's local days)",
        ("operator", "merchant"),
        {"200": "the groups", **refusals},
        tags=("analytics",),
        replies={"200": "AnalyticsSummary"},
        query=[
            *_period(MAX_SUMMARY_DAYS),
            query("depot_id", "one depot (a merchant sees only its own orders there)"),
            query("merchant_id", "one merchant (a merchant: its own id only)"),
            query("group_by", "how the groups are keyed (default day)", enum=list(GROUPINGS)),
        ],
    )
    orders_csv = op(
        f"One CSV row per order with a fact in the period (at most {MAX_CSV_DAYS} days and "
        "10,000 orders: one Lambda answer); no customer data",
        ("operator", "merchant"),
        {"200": "text/csv", **refusals},
        tags=("analytics",),
        query=[*_period(MAX_CSV_DAYS), query("depot_id", "one depot")],
    )
    orders_csv["responses"]["200"]["content"] = {
        "text/csv": {"schema": {"type": "string"}, "example": ",".join(CSV_COLUMNS) + "\r\n"}
    }
    forecast = op(
        "A depot's orders for its next days (p50, p90) and the vehicles the p90 needs at its "
        "average stops per route, as the daily forecast run made them; with the model's "
        "rolling-origin backtest (MASE, and the seasonal-naive baseline's; null when the "
        "history is too short to test)",
        ("operator",),
        {
            "200": "the forecast",
            "401": "not the operator key (a merchant key included)",
            "404": "no such depot",
            "409": "`forecast_not_ready`: no forecast for the depot yet (it needs 14 days with "
            "orders and the daily run after them)",
            "422": "`depot_id` missing, or `days` not 1..7 (named in `field`)",
        },
        tags=("analytics",),
        replies={"200": "AnalyticsForecast"},
        query=[
            query("depot_id", "the depot", required=True),
            query(
                "days",
                f"how many days, 1 to {MAX_FORECAST_DAYS} (default 7)",
                minimum=1,
                maximum=MAX_FORECAST_DAYS,
                type="integer",
            ),
        ],
    )
    return {
        "/v1/analytics/forecast": {"get": forecast},
        "/v1/analytics/summary": {"get": summary},
        "/v1/analytics/orders.csv": {"get": orders_csv},
    }


def add_schemas(schemas: dict[str, Any]) -> None:
    _mase = {"type": ["number", "null"], "minimum": 0}
    schemas["AnalyticsForecast"] = object_schema(
        {
            "depot_id": {"type": "string"},
            "days": {
                "type": "array",
                "maxItems": MAX_FORECAST_DAYS,
                "items": object_schema(
                    {
                        "date": {"type": "string", "format": "date"},
                        "orders_p50": {"type": "number", "minimum": 0},
                        "orders_p90": {"type": "number", "minimum": 0},
                        "vehicles_needed": _COUNT,
                    },
                    required=["date", "orders_p50", "orders_p90", "vehicles_needed"],
                ),
            },
            "model": {"type": "string"},
            "backtest": object_schema(
                {"mase": _mase, "baseline_mase": _mase}, required=["mase", "baseline_mase"]
            ),
            "made_at": {"type": "string", "format": "date-time"},
            "history": object_schema(
                {
                    "from": {"type": "string", "format": "date"},
                    "to": {"type": "string", "format": "date"},
                },
                required=["from", "to"],
            ),
        },
        required=["depot_id", "days", "model", "backtest"],
    )
    group = object_schema(
        {
            "key": {"type": "string"},
            "orders": _COUNT,
            "delivered": _COUNT,
            "failed_attempts": _COUNT,
            "returned": _COUNT,
            "cancelled": _COUNT,
            "first_attempt_success_rate": _RATE,
            "on_time_rate": _RATE,
            "otif_rate": _RATE,
            "median_delivery_minutes": _NUMBER,
            "p90_delivery_minutes": _NUMBER,
            "avg_out_to_delivered_minutes": _NUMBER,
            "tasks_per_hour": _NUMBER,
            "km_per_stop": _NUMBER,
            "stops_per_route": _NUMBER,
            "co2e_g_per_parcel": _NUMBER,
            "rating_avg": {"type": ["number", "null"], "minimum": 1, "maximum": 5},
            "ratings": _COUNT,
            "rating_distribution": _COUNTS,
            "failed_by_reason": _COUNTS,
            "locker_share": _RATE,
            "deposits": _COUNT,
            "collections": _COUNT,
            "avg_collection_minutes": _NUMBER,
            "expiries": _COUNT,
            "avg_service_minutes": _NUMBER,
            "avg_delay_minutes": _NUMBER,
            "routes": {"type": ["integer", "null"], "minimum": 0},
            "planned_route_minutes": _NUMBER,
            "actual_route_minutes": _NUMBER,
            "route_co2e_g": _NUMBER,
        },
        required=[
            "key",
            "orders",
            "delivered",
            "failed_attempts",
            "returned",
            "first_attempt_success_rate",
            "on_time_rate",
            "otif_rate",
            "median_delivery_minutes",
            "p90_delivery_minutes",
            "tasks_per_hour",
            "km_per_stop",
            "stops_per_route",
            "co2e_g_per_parcel",
            "rating_avg",
            "ratings",
        ],
    )
    schemas["AnalyticsSummary"] = object_schema(
        {
            "from": {"type": "string", "format": "date"},
            "to": {"type": "string", "format": "date"},
            "group_by": {"enum": list(GROUPINGS)},
            "depot_id": {"type": ["string", "null"]},
            "merchant_id": {"type": ["string", "null"]},
            "groups": {"type": "array", "items": group},
            "definitions": object_schema(
                {name: {"type": "string"} for name in DEFINITIONS}, required=list(DEFINITIONS)
            ),
        },
        required=["from", "to", "groups", "definitions"],
    )
