"""The webhook front of intake: size limit, merchant, signature, parse, translate, ingest."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger

from chalicelib.accounts.service import AccountService
from chalicelib.domain.errors import (
    MalformedBody,
    MerchantNotFound,
    PayloadTooLarge,
    SignatureInvalid,
)
from chalicelib.domain.tenancy import Merchant
from chalicelib.intake import shopify
from chalicelib.orders.service import Ignored, IntakeResult, OrderService

logger = Logger(child=True)

MAX_BODY_BYTES = 1_000_000


def parse_json(raw_body: bytes) -> Any:
    try:
        return json.loads(raw_body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedBody(f"body is not valid JSON: {exc}") from exc


class WebhookIntake:
    def __init__(self, accounts: AccountService, orders: OrderService) -> None:
        self._accounts = accounts
        self._orders = orders

    def _merchant(self, merchant_id: str, raw_body: bytes) -> Merchant:
        if len(raw_body) > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"body is over {MAX_BODY_BYTES} bytes")
        try:
            return self._accounts.merchant(merchant_id)
        except MerchantNotFound as exc:
            # Same answer as a bad signature: the caller learns nothing about who exists.
            raise SignatureInvalid("signature cannot be verified") from exc

    def shopify(
        self, merchant_id: str, headers: Mapping[str, str], raw_body: bytes
    ) -> IntakeResult | Ignored:
        merchant = self._merchant(merchant_id, raw_body)
        shopify.verify(
            raw_body,
            headers.get("x-shopify-hmac-sha256"),
            self._accounts.webhook_secrets(merchant.merchant_id, "shopify"),
        )
        inbound = shopify.translate(
            headers.get("x-shopify-topic", ""),
            headers.get("x-shopify-event-id") or headers.get("x-shopify-webhook-id"),
            parse_json(raw_body),
        )
        return self._ingest(merchant, inbound)

    def _ingest(self, merchant: Merchant, inbound: Any) -> IntakeResult | Ignored:
        if isinstance(inbound, Ignored):
            logger.info("webhook ignored", extra={"reason": inbound.reason})
            return inbound
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
