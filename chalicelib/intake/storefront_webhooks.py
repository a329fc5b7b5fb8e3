"""The webhook front of intake: size limit, merchant, signature, parse, translate, ingest."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from aws_lambda_powertools import Logger

from chalicelib.accounts.service import AccountService
from chalicelib.allocation.stock_levels import INVENTORY_TOPIC, LevelApplied, StockLevels
from chalicelib.domain.errors import MerchantNotFound, SignatureInvalid
from chalicelib.domain.order import MAX_EVENT_ID_BYTES, check_id
from chalicelib.domain.tenancy import Merchant
from chalicelib.intake import shopify, standard, stripe_checkout, woocommerce
from chalicelib.orders.service import Ignored, Inbound, IntakeResult, OrderService, Outcome
from chalicelib.request_bodies import parse_json

logger = Logger(child=True)


def _shopify_event_id(headers: Mapping[str, str]) -> str | None:
    """The delivery's event id (a receipt is keyed by it), bounded like every event id."""
    for header in ("X-Shopify-Event-Id", "X-Shopify-Webhook-Id"):
        value = headers.get(header.lower())
        if value:
            return check_id(value, field=header, max_bytes=MAX_EVENT_ID_BYTES)
    return None


# A shipping rate's metadata from Stripe, by its id, on a connected account (or the platform's).
RateMetadata = Callable[[str, str | None], dict[str, str] | None]
# A paid tracking-page action (billing/paid_actions.py) applied once: its outcome and order.
PaidAction = Callable[[str], tuple[str, Any]]


class WebhookIntake:
    def __init__(
        self,
        accounts: AccountService,
        orders: OrderService,
        stripe_secret_name: str,
        stock: StockLevels | None = None,
        shipping_rate_metadata: RateMetadata | None = None,
        paid_action: PaidAction | None = None,
    ) -> None:
        self._accounts = accounts
        self._orders = orders
        self._stripe_secret_name = stripe_secret_name
        self._stock = stock
        self._rate_metadata = shipping_rate_metadata
        self._paid_action = paid_action

    def _merchant(self, merchant_id: str) -> Merchant:
        try:
            return self._accounts.merchant(merchant_id)
        except MerchantNotFound as exc:
            # Same answer as a bad signature: the caller learns nothing about who exists.
            raise SignatureInvalid("signature cannot be verified") from exc

    def shopify(
        self, merchant_id: str, headers: Mapping[str, str], raw_body: bytes
    ) -> IntakeResult | Ignored | LevelApplied:
        merchant = self._merchant(merchant_id)
        shopify.verify(
            raw_body,
            headers.get("x-shopify-hmac-sha256"),
            self._accounts.webhook_secrets(merchant.merchant_id, "shopify"),
        )
        if headers.get("x-shopify-topic") == INVENTORY_TOPIC and self._stock is not None:
            # A stock level, not an order: the signed body is an InventoryLevel.
            applied = self._stock.apply_shopify(merchant, parse_json(raw_body))
            logger.info("stock level", extra={"outcome": applied.outcome, "reason": applied.reason})
            return applied
        inbound = shopify.translate(
            headers.get("x-shopify-topic", ""), _shopify_event_id(headers), parse_json(raw_body)
        )
        return self._ingest(merchant, inbound)

    def woocommerce(
        self, merchant_id: str, headers: Mapping[str, str], raw_body: bytes
    ) -> IntakeResult | Ignored:
        if woocommerce.is_ping(raw_body, headers.get("content-type")):
            # The one unsigned request any endpoint accepts: it writes nothing.
            return Ignored("WooCommerce webhook ping")
        merchant = self._merchant(merchant_id)
        woocommerce.verify(
            raw_body,
            headers.get("x-wc-webhook-signature"),
            self._accounts.webhook_secrets(merchant.merchant_id, "woocommerce"),
        )
        inbound = woocommerce.translate(headers.get("x-wc-webhook-topic", ""), parse_json(raw_body))
        return self._ingest(merchant, inbound)

    def generic(
        self, merchant_id: str, headers: Mapping[str, str], raw_body: bytes
    ) -> IntakeResult | Ignored:
        merchant = self._merchant(merchant_id)
        webhook_id = standard.verify(
            raw_body, headers, self._accounts.webhook_secrets(merchant.merchant_id, "standard")
        )
        return self._ingest(merchant, standard.translate(webhook_id, parse_json(raw_body)))

    def stripe(self, headers: Mapping[str, str], raw_body: bytes) -> IntakeResult | Ignored:
        secret = self._accounts.platform_secret(self._stripe_secret_name)
        if not secret:
            raise SignatureInvalid("no Stripe signing secret is configured")
        stripe_checkout.verify(raw_body, headers.get("stripe-signature"), secret)
        event = stripe_checkout.parse_event(parse_json(raw_body))
        action_id = stripe_checkout.paid_action_id(event)
        if action_id is not None and self._paid_action is not None:
            # A customer paid for an action on the tracking page (the platform's own session).
            outcome, order = self._paid_action(action_id)
            logger.info("paid action", extra={"outcome": outcome, "action_id": action_id})
            kind = Outcome.DUPLICATE if outcome in ("duplicate", "unknown") else Outcome.UPDATED
            return IntakeResult(kind, order, reason=f"paid action {outcome}")
        inbound = stripe_checkout.translate(event)
        if isinstance(inbound, Ignored):
            return self._ingest(None, inbound)
        merchant = (
            self._accounts.merchant_for_stripe_account(event.account) if event.account else None
        )
        if merchant is None:
            # Acknowledged: Stripe would otherwise retry for days an event no merchant owns.
            return self._ingest(None, Ignored(f"no merchant for Stripe account {event.account}"))
        return self._ingest(merchant, self._with_chosen_option(event, inbound))

    def _with_chosen_option(self, event: stripe_checkout.StripeEvent, inbound: Inbound) -> Inbound:
        """The delivery option the customer chose as their shipping rate (its metadata names
        it): events carry the rate's id only, so its metadata is read from Stripe."""
        draft = inbound.draft
        if draft is None or draft.delivery.option_id or self._rate_metadata is None:
            return inbound
        rate = stripe_checkout.chosen_shipping_rate(event)
        if isinstance(rate, dict):
            metadata = rate.get("metadata") or {}
        elif rate:
            metadata = self._rate_metadata(rate, event.account) or {}  # 503 if Stripe is down
        else:
            return inbound
        option_id = metadata.get(stripe_checkout.OPTION_KEY)
        if not isinstance(option_id, str) or not 0 < len(option_id) <= 64:
            return inbound
        delivery = replace(draft.delivery, option_id=option_id)
        return replace(inbound, draft=replace(draft, delivery=delivery))

    def _ingest(self, merchant: Merchant | None, inbound: Any) -> IntakeResult | Ignored:
        if isinstance(inbound, Ignored):
            logger.info("webhook ignored", extra={"reason": inbound.reason})
            return inbound
        assert merchant is not None
        result = self._orders.ingest(merchant, inbound)
        logger.info(
            "webhook applied",
            extra={
                "outcome": str(result.outcome),
                "source": inbound.source,
                "order_id": result.order.order_id if result.order else None,
            },
        )
        return result
