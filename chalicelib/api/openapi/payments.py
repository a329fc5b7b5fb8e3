"""The delivery options and payments part of the OpenAPI document (api/payments.py)."""

from __future__ import annotations

from typing import Any

from chalicelib.api.openapi.components import add_model, add_reply, op, query
from chalicelib.api.payment_replies import BillingOut, DeliveryOptionsOut, PriceListOut, UsageOut
from chalicelib.api.payments import BillingIn, DeliveryOptionsIn, PriceListIn

PRICE_LIST_EXAMPLE = {
    "currency": "EUR",
    "prices": {"standard": 490, "express": 1290, "slot": 790},
    "slot_prices": {"18:00": 990},
    "weight_surcharges": [{"over_kg": 10, "amount": 300}],
    "distance_surcharges": [{"over_km": 8, "amount": 200}],
}


def paths() -> dict[str, dict[str, Any]]:
    return {
        "/v1/price-list": {
            "put": op(
                "Set the merchant's prices of delivery options (integer minor units): per type, "
                "per slot start (local HH:MM), surcharges over weight and distance bands",
                "merchant",
                {"200": "the price list", "401": "bad key", "422": "invalid (field named)"},
                "PriceListIn",
                ("merchant",),
                replies={"200": "PriceListOut"},
                example=PRICE_LIST_EXAMPLE,
            ),
            "get": op(
                "The merchant's price list",
                "merchant",
                {"200": "the price list", "401": "bad key", "404": "none set yet"},
                tags=("merchant",),
                replies={"200": "PriceListOut"},
            ),
        },
        "/v1/delivery-options": {
            "post": op(
                "The delivery options the fleet can still serve for an address and parcels, "
                "priced from the price list; each holds its capacity until expires_at and is "
                "redeemed by an order carrying its option_id (delivery.option_id, a Shopify note "
                "attribute lastmile_option_id, or a Stripe shipping rate's metadata)",
                "merchant",
                {
                    "200": "the options (none when the fleet is full)",
                    "401": "bad key",
                    "409": "no_price_list",
                    "422": "invalid (field named)",
                },
                "DeliveryOptionsIn",
                ("merchant",),
                replies={"200": "DeliveryOptionsOut"},
                example={
                    "address": {"line1": "1 Tower Bridge Rd", "lat": 51.5055, "lng": -0.0754},
                    "parcels": [{"weight_kg": 1.2}],
                },
            )
        },
        "/v1/merchants/{merchant_id}/billing": {
            "put": op(
                "Set whom Stripe bills for the merchant's delivered parcels, and the price per "
                "parcel (integer minor units; one currency per merchant)",
                "operator",
                {
                    "200": "the billing",
                    "401": "not an operator",
                    "404": "no such merchant",
                    "409": "currency_fixed: another currency than before",
                    "422": "invalid (field named)",
                },
                "BillingIn",
                ("operator",),
                replies={"200": "BillingOut"},
                example={
                    "stripe_customer_id": "cus_Lastmile42",
                    "price_per_parcel": {"amount": 35, "currency": "EUR"},
                },
            )
        },
        "/v1/usage": {
            "get": op(
                "The month's delivered parcels, their amount and how many Stripe Billing has "
                "(each parcel is one meter event, reported once)",
                "merchant",
                {"200": "the month so far", "401": "bad key", "422": "month not YYYY-MM"},
                tags=("merchant",),
                query=[query("month", "YYYY-MM", pattern=r"^\d{4}-\d{2}$", required=True)],
                replies={"200": "UsageOut"},
            )
        },
    }


def add_schemas(schemas: dict[str, Any]) -> None:
    add_model(schemas, BillingIn)
    add_model(schemas, PriceListIn)
    add_model(schemas, DeliveryOptionsIn)
    add_reply(schemas, PriceListOut, DeliveryOptionsOut, BillingOut, UsageOut)
