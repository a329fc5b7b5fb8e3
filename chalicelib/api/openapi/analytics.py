"""The analytics part of the OpenAPI document: the summary and the orders' CSV (operator: any
depot or merchant; merchant: its own orders only; api/analytics.py)."""

from __future__ import annotations

from typing import Any

from chalicelib.analytics.metrics import GROUPINGS
from chalicelib.analytics.summary import CSV_COLUMNS, MAX_CSV_DAYS, MAX_SUMMARY_DAYS
from chalicelib.api.openapi.components import add_reply, op, query
from chalicelib.api.operator_replies import AnalyticsForecast, AnalyticsSummary
from chalicelib.forecasting.serving import MAX_DAYS as MAX_FORECAST_DAYS

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
    add_reply(schemas, AnalyticsForecast, AnalyticsSummary)
