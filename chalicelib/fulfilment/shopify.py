"""Shopify Admin REST API: an order's fulfillment orders, then one fulfillment of the open ones
with our tracking number. Over `requests`, as the catch-up client (chalicelib/reconcile)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from chalicelib.fulfilment.ports import (
    ReporterFactory,
    ReportRejected,
    ReportUnavailable,
    TrackingInfo,
)
from chalicelib.reconcile.connections import SHOP_DOMAIN, shopify_base_url
from chalicelib.reconcile.shopify_client import API_VERSION, TIMEOUT

# Fulfillment orders a fulfillment can be created for (scheduled/on_hold/closed... cannot).
OPEN = ("open", "in_progress")
ANSWER_KEPT = 500  # characters of a refusal kept with the failed record


class ShopifyFulfilments:
    def __init__(
        self,
        session: requests.Session,
        base_url: str,
        access_token: str,
        *,
        api_version: str = API_VERSION,
    ) -> None:
        """`base_url`: https://<shop>.myshopify.com, or a local fake's address in tests."""
        self._session = session
        self._api = f"{base_url.rstrip('/')}/admin/api/{api_version}"
        self._headers = {
            "X-Shopify-Access-Token": access_token,
            "Accept": "application/json",
        }

    def report(self, external_order_id: str, tracking: TrackingInfo) -> str:
        if not external_order_id.isdigit():
            raise ReportRejected(f"{external_order_id!r} is not a Shopify order id")
        listed = self._call("GET", f"/orders/{external_order_id}/fulfillment_orders.json", None)
        fulfillment_orders = listed.get("fulfillment_orders")
        if not isinstance(fulfillment_orders, list):
            raise ReportRejected("Shopify's answer holds no list of fulfillment orders")
        open_ids = [
            fo["id"]
            for fo in fulfillment_orders
            if isinstance(fo, dict)
            and fo.get("status") in OPEN
            and "create_fulfillment" in fo.get("supported_actions", ["create_fulfillment"])
        ]
        if not open_ids:
            statuses = sorted({str(fo.get("status")) for fo in fulfillment_orders})
            raise ReportRejected(
                "no open fulfillment orders", answer=f"fulfillment order statuses: {statuses}"
            )
        body = {
            "fulfillment": {
                "line_items_by_fulfillment_order": [
                    {"fulfillment_order_id": fo_id} for fo_id in open_ids
                ],
                "tracking_info": {
                    "number": tracking.number,
                    "url": tracking.url,
                    "company": tracking.company,
                },
                "notify_customer": False,  # lastmile sends the customer's messages itself
            }
        }
        created = self._call("POST", "/fulfillments.json", body)
        fulfillment = created.get("fulfillment")
        if not isinstance(fulfillment, dict) or "id" not in fulfillment:
            raise ReportRejected("Shopify's answer holds no fulfillment")
        return str(fulfillment["id"])

    def _call(self, method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        try:
            response = self._session.request(
                method, self._api + path, json=body, headers=self._headers, timeout=TIMEOUT
            )
        except requests.RequestException as exc:
            raise ReportUnavailable(f"Shopify did not answer ({type(exc).__name__})") from exc
        status = response.status_code
        if status == 429 or status >= 500:
            raise ReportUnavailable(f"Shopify answered {status} to {method} {path}")
        if not 200 <= status < 300:
            raise ReportRejected(
                f"Shopify answered {status} to {method} {path}",
                status=status,
                answer=response.text[:ANSWER_KEPT],
            )
        try:
            answer = response.json()
        except ValueError as exc:
            raise ReportRejected(f"Shopify's answer to {method} {path} is not JSON") from exc
        if not isinstance(answer, dict):
            raise ReportRejected(f"Shopify's answer to {method} {path} is not an object")
        return answer


def shopify_reporters(
    session: requests.Session | None = None,
    *,
    base_url: Callable[[str], str] = shopify_base_url,
) -> ReporterFactory:
    """Reporters for merchants' stored Shopify connections, sharing one HTTP session. Tests pass
    `base_url` to reach a local fake."""
    shared = session or requests.Session()

    def build(credentials: dict[str, Any]) -> ShopifyFulfilments:
        shop, token = credentials.get("shop"), credentials.get("access_token")
        if not isinstance(shop, str) or not SHOP_DOMAIN.match(shop):
            raise ReportRejected("the connection's shop is not a <name>.myshopify.com domain")
        if not isinstance(token, str) or not token:
            raise ReportRejected("the connection lacks an access token")
        return ShopifyFulfilments(shared, base_url(shop), token)

    return build
