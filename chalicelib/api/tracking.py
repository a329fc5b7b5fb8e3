"""Public tracking (no credentials): the HTML page and its JSON twin, by tracking code,
rate limited per client."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from chalice import Blueprint
from chalice.app import Response

from chalicelib import bootstrap
from chalicelib.api.http import error_response, json_response, route
from chalicelib.config import settings
from chalicelib.domain.errors import DepotNotFound, OrderNotFound
from chalicelib.tracking import page
from chalicelib.tracking.public import public_view
from chalicelib.tracking.rate_limit import RateLimited

tracking = Blueprint(__name__)


def _limit_client() -> None:
    """Count this request against its client's minute (RateLimited past the limit)."""
    context = tracking.current_request.context or {}
    ip = (context.get("identity") or {}).get("sourceIp") or "unknown"
    bootstrap.tracking_limiter().hit(ip)


def _find(tracking_code: str) -> page.Tracking:
    return page.find(tracking_code, bootstrap.orders(), bootstrap.dispatch_repository())


@lru_cache(maxsize=256)
def _depot_timezone(depot_id: str) -> str | None:
    # A depot's zone practically never changes: one read per depot per container.
    try:
        return bootstrap.accounts().depot(depot_id).timezone
    except DepotNotFound:
        return None  # the page then shows UTC and says so


def _html(body: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(body=body, status_code=status, headers=dict(headers or page.headers()))


@route(tracking, "/v1/track/{tracking_code}", methods=["GET"])
def track(tracking_code: str) -> Any:
    try:
        _limit_client()
    except RateLimited as exc:
        limited = error_response(exc)
        limited.headers["Retry-After"] = str(exc.retry_after)
        return limited
    found = _find(tracking_code)
    view = public_view(found.order, found.timeline, stops_before=found.stops_before)
    return json_response(view, headers={"Cache-Control": "no-store"})


@route(tracking, "/track/{tracking_code}", methods=["GET"])
def track_page(tracking_code: str) -> Any:
    try:
        _limit_client()
    except RateLimited as exc:
        headers = page.headers() | {"Retry-After": str(exc.retry_after)}
        return _html(page.render_rate_limited(exc.retry_after), 429, headers)
    try:
        found = _find(tracking_code)
    except OrderNotFound:
        return _html(page.render_not_found(), 404)
    html = page.render_page(
        found,
        base_url=settings().public_base_url,
        timezone=_depot_timezone(found.order.depot_id),
    )
    return _html(html, 200)


@route(tracking, "/health", methods=["GET"])
def health() -> Any:
    return json_response({"status": "ok"})
