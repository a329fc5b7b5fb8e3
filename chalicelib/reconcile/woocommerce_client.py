"""WooCommerce REST API v3: a store's orders changed since a time, page by page (catch-up),
through the official `woocommerce` client. Needs WooCommerce 5.8+ (`modified_after`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from woocommerce import API

from chalicelib.reconcile.ports import (
    Page,
    PlatformCredentialsRejected,
    PlatformRequestRejected,
    PlatformUnavailable,
)

PAGE_SIZE = 100  # WooCommerce's maximum `per_page`
SECOND = timedelta(seconds=1)  # the resolution of WooCommerce's modification times


class WooCommerceOrders:
    def __init__(self, api: API, *, page_size: int = PAGE_SIZE) -> None:
        """`api`: `woocommerce.API(url, consumer_key, consumer_secret, version="wc/v3")`."""
        self._api = api
        self._page_size = page_size

    def changed_since(self, since: datetime) -> Iterator[Page]:
        """Every order (any status but trash) modified after `since`, oldest change first."""
        after = since.astimezone(UTC).replace(tzinfo=None, microsecond=0)
        page = 1
        while True:
            response = self._get(
                {
                    "modified_after": after.isoformat(),
                    # Without it WooCommerce reads the date in the shop's own time zone.
                    "dates_are_gmt": "true",
                    "orderby": "modified",
                    "order": "asc",
                    "status": "any",
                    "per_page": self._page_size,
                    "page": page,
                }
            )
            orders = _orders(response)
            stamps = [m for m in map(_modified, orders) if m is not None]
            newest, oldest = max(stamps, default=None), min(stamps, default=None)
            if oldest is not None and oldest <= after - SECOND:
                # A store older than 5.8 ignores modified_after and would hand us everything.
                raise PlatformRequestRejected("the store ignores modified_after (WooCommerce 5.8+)")
            yield orders
            total_pages = int(response.headers.get("X-WP-TotalPages") or page)
            if len(orders) < self._page_size or page >= total_pages or newest is None:
                return
            # Numbered pages shift when an order changes while we read (it moves to the end and
            # the next page starts one order late, skipping one). So continue from the newest
            # change seen instead, one second back for ties; numbered pages only when a whole
            # page shares one second.
            if newest - SECOND > after:
                after, page = newest - SECOND, 1
            else:
                page += 1

    def _get(self, params: dict[str, Any]) -> requests.Response:
        try:
            response = self._api.get("orders", params=params)
        except requests.RequestException as exc:
            # `from None`: over plain HTTP the request URL carries the consumer key.
            raise PlatformUnavailable(
                f"WooCommerce did not answer ({type(exc).__name__})"
            ) from None
        status = response.status_code
        if status in (401, 403):
            raise PlatformCredentialsRejected(f"WooCommerce refused the API keys ({status})")
        if status == 429 or status >= 500:
            raise PlatformUnavailable(f"WooCommerce answered {status}")
        if status != 200:
            raise PlatformRequestRejected(f"WooCommerce answered {status}: {_error_code(response)}")
        return response


def _modified(order: dict[str, Any]) -> datetime | None:
    value = order.get("date_modified_gmt")
    return datetime.fromisoformat(value).replace(tzinfo=None) if isinstance(value, str) else None


def _orders(response: requests.Response) -> Page:
    try:
        body = response.json()
    except ValueError as exc:
        raise PlatformRequestRejected("WooCommerce's answer is not JSON") from exc
    if not isinstance(body, list):
        raise PlatformRequestRejected("WooCommerce's answer is not a list of orders")
    return [order for order in body if isinstance(order, dict)]


def _error_code(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("code")) if isinstance(body, dict) else response.text[:200]
