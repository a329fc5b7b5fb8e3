"""Analytics API (operator key: any depot or merchant; merchant key: its own orders only): the
summary of a period and its orders as CSV; operator key only: the depots' forecasts."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib import bootstrap
from chalicelib.analytics.summary import Viewer
from chalicelib.api.http import bearer, json_response, route
from chalicelib.api.operator_replies import AnalyticsForecast, AnalyticsSummary
from chalicelib.domain.errors import AuthenticationFailed

analytics_api = Blueprint(__name__)

SUMMARY_PARAMS = frozenset({"from", "to", "depot_id", "merchant_id", "group_by"})
CSV_PARAMS = frozenset({"from", "to", "depot_id"})
FORECAST_PARAMS = frozenset({"depot_id", "days"})


def _viewer() -> Viewer:
    """The operator, or the merchant whose key this is (401 for neither)."""
    key = bearer(analytics_api.current_request)
    accounts = bootstrap.accounts()
    try:
        accounts.authenticate_admin(key)
        return Viewer()
    except AuthenticationFailed:
        pass  # not the operator's key: perhaps a merchant's
    try:
        return Viewer(accounts.authenticate_merchant(key).merchant_id)
    except AuthenticationFailed as exc:
        raise AuthenticationFailed("an operator key or a merchant API key is required") from exc


@route(analytics_api, "/v1/analytics/forecast", methods=["GET"])
def forecast() -> Any:
    """A depot's next days of orders (p50, p90) and vehicles (operator key only)."""
    bootstrap.accounts().authenticate_admin(bearer(analytics_api.current_request))
    p = _params(FORECAST_PARAMS)
    answer = bootstrap.forecast_service().forecast(p.get("depot_id"), p.get("days"))
    return json_response(AnalyticsForecast.model_validate(answer).body())


def _params(allowed: frozenset[str]) -> dict[str, str]:
    params = dict(analytics_api.current_request.query_params or {})
    return {k: v for k, v in params.items() if k in allowed}


@route(analytics_api, "/v1/analytics/summary", methods=["GET"])
def summary() -> Any:
    viewer = _viewer()
    p = _params(SUMMARY_PARAMS)
    answer = bootstrap.analytics().summary(
        viewer,
        p.get("from"),
        p.get("to"),
        depot_id=p.get("depot_id"),
        merchant_id=p.get("merchant_id"),
        group_by=p.get("group_by"),
    )
    return json_response(AnalyticsSummary.model_validate(answer).body())


@route(analytics_api, "/v1/analytics/orders.csv", methods=["GET"])
def orders_csv() -> Any:
    viewer = _viewer()
    p = _params(CSV_PARAMS)
    body = bootstrap.analytics().orders_csv(
        viewer, p.get("from"), p.get("to"), depot_id=p.get("depot_id")
    )
    name = f"orders-{p.get('from')}-{p.get('to')}.csv"
    return Response(
        body=body,
        status_code=200,
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{name}"',
        },
    )
