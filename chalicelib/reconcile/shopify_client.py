"""Shopify Admin REST API: a shop's orders changed since a time, page by page (catch-up).

A thin `requests` adapter rather than the ShopifyAPI package: that one keeps the shop and token
in a process-global session, where a warm Lambda visits many merchants in turn, and brings
pyactiveresource along for what is one GET with cursor pagination."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import requests

from chalicelib.reconcile.ports import (
    Page,
    PlatformCredentialsRejected,
    PlatformRequestRejected,
    PlatformUnavailable,
)

API_VERSION = "2026-10"  # a stable version is served for at least twelve months
PAGE_SIZE = 250  # Shopify's maximum `limit`
TIMEOUT = (5, 30)  # (connect, read) seconds


class ShopifyOrders:
    def __init__(
        self,
        session: requests.Session,
        base_url: str,
        access_token: str,
        *,
        api_version: str = API_VERSION,
        page_size: int = PAGE_SIZE,
    ) -> None:
        """`base_url`: https://<shop>.myshopify.com, or a local fake's address in tests."""
        self._session = session
        self._base = base_url.rstrip("/")
        self._token = access_token
        self._version = api_version
        self._page_size = page_size

    def changed_since(self, since: datetime) -> Iterator[Page]:
        """Every order (open, closed, cancelled) updated at or after `since`, oldest first."""
        url: str | None = f"{self._base}/admin/api/{self._version}/orders.json"
        params: dict[str, Any] | None = {
            "updated_at_min": since.astimezone(UTC).replace(microsecond=0).isoformat(),
            "status": "any",  # the default is open orders only: cancellations would be missed
            "order": "updated_at asc",
            "limit": self._page_size,
        }
        while url:
            response = self._get(url, params)
            orders = _orders(response)
            yield orders
            url = response.links.get("next", {}).get("url")
            # The next link carries page_info and limit; Shopify refuses other filters beside it.
            params = None
            if url and not url.startswith(self._base + "/"):
                # Never send the shop's token anywhere but the shop.
                raise PlatformRequestRejected("Shopify's next-page link points to another host")

    def _get(self, url: str, params: dict[str, Any] | None) -> requests.Response:
        try:
            response = self._session.get(
                url,
                params=params,
                headers={"X-Shopify-Access-Token": self._token, "Accept": "application/json"},
                timeout=TIMEOUT,
            )
        except requests.RequestException as exc:
            raise PlatformUnavailable(f"Shopify did not answer ({type(exc).__name__})") from exc
        status = response.status_code
        if status in (401, 403):
            raise PlatformCredentialsRejected(f"Shopify refused the access token ({status})")
        if status == 429 or status >= 500:
            raise PlatformUnavailable(f"Shopify answered {status}")
        if status != 200:
            raise PlatformRequestRejected(f"Shopify answered {status}: {response.text[:200]}")
        return response


def _orders(response: requests.Response) -> Page:
    try:
        body = response.json()
    except ValueError as exc:
        raise PlatformRequestRejected("Shopify's answer is not JSON") from exc
    orders = body.get("orders") if isinstance(body, dict) else None
    if not isinstance(orders, list):
        raise PlatformRequestRejected("Shopify's answer holds no list of orders")
    return [order for order in orders if isinstance(order, dict)]
