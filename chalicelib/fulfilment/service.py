"""The notify Lambda's fulfilment handler: when a Shopify order goes out for delivery, tell
the shop, with our tracking number and page, exactly once per order."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from chalicelib.fulfilment.claims import FAILED, REPORTED, ClaimStore
from chalicelib.fulfilment.ports import (
    Connections,
    OrderLookup,
    ReporterFactory,
    ReportRejected,
    TrackingInfo,
)
from chalicelib.orders.views import tracking_url

logger = Logger(child=True)

TRIGGER = "order.out_for_delivery"
PLATFORM = "shopify"


class FulfilmentService:
    def __init__(
        self,
        orders: OrderLookup,
        accounts: Connections,
        store: ClaimStore,
        reporter_factory: ReporterFactory,
        public_base_url: str,
    ) -> None:
        self._orders = orders
        self._accounts = accounts
        self._store = store
        self._reporters = reporter_factory
        self._base_url = public_base_url.rstrip("/")

    def handle(self, message: dict[str, Any]) -> str | None:
        """Report the message's order if it is due; what happened ("reported", "failed",
        "duplicate") or None when the message is not for us. Raises ReportUnavailable (claim
        released) so that the stream delivers the message again."""
        if message.get("type") != TRIGGER or not message.get("order_id"):
            return None
        order = self._orders.get(str(message["order_id"]))
        if order is None or order.source != PLATFORM:
            return None
        credentials = self._accounts.connection(order.merchant_id, PLATFORM)
        if not credentials:
            return None  # webhooks only, no Admin API connection: nothing we can call
        if not self._store.claim(order.order_id, order.merchant_id, PLATFORM):
            logger.info("fulfilment already claimed", order_id=order.order_id)
            return "duplicate"
        tracking = TrackingInfo(number=order.tracking_code, url=tracking_url(self._base_url, order))
        try:
            fulfilment_id = self._reporters(credentials).report(order.external_id, tracking)
        except ReportRejected as exc:
            logger.warning(
                "Shopify refused the fulfilment", order_id=order.order_id, error=str(exc)
            )
            self._store.settle(
                order.order_id,
                PLATFORM,
                FAILED,
                reason=str(exc),
                http_status=exc.status,
                answer=exc.answer or None,
            )
            return "failed"
        except Exception:
            # Unavailable, or anything unexpected: let the redelivered message try again.
            self._store.release(order.order_id, PLATFORM)
            raise
        self._store.settle(
            order.order_id,
            PLATFORM,
            REPORTED,
            fulfilment_id=fulfilment_id,
            tracking_number=tracking.number,
            tracking_url=tracking.url,
        )
        return "reported"
