"""The storefronts' part of the OpenAPI document: the signed intake webhooks
(api/storefront_webhooks.py)."""

from __future__ import annotations

from typing import Any

from chalicelib.api.openapi.components import REF, add_reply, op
from chalicelib.api.replies import IntakeOut

SIGNED = {
    "200": "applied, duplicate, stale or ignored (see `outcome`)",
    "400": "body is not JSON",
    "401": "bad or missing signature",
    "413": "body over 1 MB",
    "422": "invalid field (named)",
}

# The body every signed webhook is answered with (api/storefront_webhooks.py `_reply`).
REPLIES = {"200": "IntakeOut"}


def paths() -> dict[str, dict[str, Any]]:
    return {
        "/v1/webhooks/shopify/{merchant_id}": {
            "post": op(
                "Shopify orders/create, orders/updated, orders/cancelled; and "
                "inventory_levels/update (a mapped depot's stock: outcome updated, stale or "
                "ignored)",
                "shopifyHmac",
                SIGNED,
                tags=("storefronts",),
                replies=REPLIES,
            )
        },
        "/v1/webhooks/woocommerce/{merchant_id}": {
            "post": op(
                "WooCommerce order.created/updated/deleted (and the unsigned ping)",
                "wooSignature",
                SIGNED,
                tags=("storefronts",),
                replies=REPLIES,
            )
        },
        "/v1/webhooks/generic/{merchant_id}": {
            "post": op(
                "Standard Webhooks: {type: order.created|order.updated|order.cancelled,"
                " data: CanonicalOrder}",
                "standardWebhooks",
                SIGNED,
                "GenericEvent",
                ("storefronts",),
                replies=REPLIES,
            )
        },
        "/v1/webhooks/stripe": {
            "post": op(
                "Stripe checkout.session.completed from a connected account",
                "stripeSignature",
                SIGNED,
                tags=("storefronts",),
                replies=REPLIES,
            )
        },
    }


def add_schemas(schemas: dict[str, Any]) -> None:
    add_reply(schemas, IntakeOut)
    schemas["GenericEvent"] = {
        "type": "object",
        "required": ["type", "data"],
        "properties": {
            "type": {"enum": ["order.created", "order.updated", "order.cancelled"]},
            "data": {"$ref": REF + "CanonicalOrder"},
        },
    }
