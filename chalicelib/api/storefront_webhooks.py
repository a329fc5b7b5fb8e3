"""Storefront webhooks: verified on the raw body before anything is parsed or written."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.allocation.stock_levels import LevelApplied
from chalicelib.api.http import json_response, raw_body, route
from chalicelib.api.replies import IntakeOut
from chalicelib.orders.service import Ignored

storefront_webhooks = Blueprint(__name__)

# Storefronts send JSON; WooCommerce's creation ping is a form post. Accepting any type here
# lets the signature check, not the framework, decide what is rejected.
WEBHOOK_TYPES = ["application/json", "application/x-www-form-urlencoded", "text/plain"]


def _reply(result: Any) -> Any:
    if isinstance(result, Ignored):
        return json_response(IntakeOut(outcome="ignored", reason=result.reason).body())
    if isinstance(result, LevelApplied):
        return json_response(IntakeOut(outcome=result.outcome, reason=result.reason or None).body())
    order_id = result.order.order_id if result.order is not None else None
    reply = IntakeOut(outcome=str(result.outcome), order_id=order_id, reason=result.reason or None)
    return json_response(reply.body())


@route(
    storefront_webhooks,
    "/v1/webhooks/shopify/{merchant_id}",
    methods=["POST"],
    content_types=WEBHOOK_TYPES,
)
def shopify(merchant_id: str) -> Any:
    request = storefront_webhooks.current_request
    return _reply(
        bootstrap.storefront_intake().shopify(merchant_id, request.headers, raw_body(request))
    )


@route(
    storefront_webhooks,
    "/v1/webhooks/woocommerce/{merchant_id}",
    methods=["POST"],
    content_types=WEBHOOK_TYPES,
)
def woocommerce(merchant_id: str) -> Any:
    request = storefront_webhooks.current_request
    return _reply(
        bootstrap.storefront_intake().woocommerce(merchant_id, request.headers, raw_body(request))
    )


@route(
    storefront_webhooks,
    "/v1/webhooks/generic/{merchant_id}",
    methods=["POST"],
    content_types=WEBHOOK_TYPES,
)
def generic(merchant_id: str) -> Any:
    request = storefront_webhooks.current_request
    return _reply(
        bootstrap.storefront_intake().generic(merchant_id, request.headers, raw_body(request))
    )


@route(storefront_webhooks, "/v1/webhooks/stripe", methods=["POST"], content_types=WEBHOOK_TYPES)
def stripe() -> Any:
    request = storefront_webhooks.current_request
    return _reply(bootstrap.storefront_intake().stripe(request.headers, raw_body(request)))
