"""The delivery options and payments part of the OpenAPI document (api/payments.py)."""

from __future__ import annotations

from typing import Any

from chalicelib.api.openapi.components import add_model, object_schema, op, query
from chalicelib.api.payments import BillingIn

TEXT = {"type": "string"}
COUNT = {"type": "integer", "minimum": 0}
MONEY = object_schema({"amount": COUNT, "currency": TEXT})


def paths() -> dict[str, dict[str, Any]]:
    return {
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
                replies={"200": "Billing"},
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
                replies={"200": "Usage"},
            )
        },
    }


def add_schemas(schemas: dict[str, Any]) -> None:
    add_model(schemas, BillingIn)
    schemas["Billing"] = object_schema(
        {
            "merchant_id": TEXT,
            "stripe_customer_id": TEXT,
            "price_per_parcel": MONEY,
            "updated_at": {"type": "string", "format": "date-time"},
        }
    )
    schemas["Usage"] = object_schema(
        {
            "month": TEXT,
            "delivered_parcels": COUNT,
            "amount": COUNT,
            "currency": {"type": ["string", "null"]},
            "reported_to_stripe": COUNT,
        }
    )
