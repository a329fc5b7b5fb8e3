"""The operators' part of the OpenAPI document for depots as fulfilment locations: service
area, capacity and cut-off, stock, and the Shopify inventory map (api/stock.py)."""

from __future__ import annotations

from typing import Any

from chalicelib.api.openapi.components import add_model, add_reply, op, query
from chalicelib.api.operator_replies import Carriers, Fulfilment, ShopifyInventory
from chalicelib.api.replies import StockOut
from chalicelib.api.stock import CarriersIn, FulfilmentIn, ShopifyInventoryIn, StockIn

FULFILMENT_EXAMPLE = {
    "service_area": {"radius_km": 25},
    "daily_capacity": {"orders": 500},
    "cutoff": "14:00",
}


def paths() -> dict[str, dict[str, Any]]:
    refusals = {"401": "not an operator", "404": "no such depot"}
    return {
        "/v1/depots/{depot_id}/fulfilment": {
            "put": op(
                "Replace the depot's service area (radius or GeoJSON polygon), daily capacity "
                "and cut-off",
                "operator",
                {"200": "the settings", **refusals, "422": "invalid (field named)"},
                "FulfilmentIn",
                ("operator",),
                replies={"200": "Fulfilment"},
                example=FULFILMENT_EXAMPLE,
            ),
            "get": op(
                "The depot's fulfilment settings",
                "operator",
                {"200": "the settings", **refusals},
                tags=("operator",),
                replies={"200": "Fulfilment"},
            ),
        },
        "/v1/depots/{depot_id}/stock": {
            "put": op(
                "Set what is on the shelf of the given SKUs (at most 100; others unchanged)",
                "operator",
                {
                    "200": "the given SKUs' levels",
                    **refusals,
                    "409": "the stock kept changing; retry",
                    "422": "invalid (field named)",
                },
                "StockIn",
                ("operator",),
                replies={"200": "StockOut"},
                example={"merchant_id": "m_demo", "items": [{"sku": "BOWL-HT", "quantity": 12}]},
            ),
            "get": op(
                "The depot's stock: free quantity and what open orders hold, per merchant and SKU",
                "operator",
                {"200": "the stock", **refusals, "422": "merchant_id invalid"},
                tags=("operator",),
                replies={"200": "StockOut"},
                query=[query("merchant_id", "only this merchant's stock", maxLength=64)],
            ),
        },
        "/v1/depots/{depot_id}/carriers": {
            "put": op(
                "Replace the partner carriers offered the orders the depot's fleet cannot take, "
                "each with the most it may charge per delivery",
                "operator",
                {"200": "the carriers", **refusals, "422": "invalid (field named)"},
                "CarriersIn",
                ("operator",),
                replies={"200": "Carriers"},
                example={
                    "carriers": [
                        {"carrier": "uber_direct", "max_price": {"amount": 1200, "currency": "GBP"}}
                    ]
                },
            ),
            "get": op(
                "The depot's partner carriers",
                "operator",
                {"200": "the carriers", **refusals},
                tags=("operator",),
                replies={"200": "Carriers"},
            ),
        },
        "/v1/merchants/{merchant_id}/shopify-inventory": {
            "put": op(
                "Map the merchant's Shopify locations to depots and inventory items to SKUs "
                "(for inventory_levels/update webhooks)",
                "operator",
                {
                    "200": "the map",
                    "401": "not an operator",
                    "404": "no such merchant",
                    "422": "invalid, or a depot not serving the merchant (field named)",
                },
                "ShopifyInventoryIn",
                ("operator",),
                replies={"200": "ShopifyInventory"},
                example={"locations": {"655441491": "dep_1"}, "items": {"271878346596": "BOWL-HT"}},
            )
        },
    }


def add_schemas(schemas: dict[str, Any]) -> None:
    for model in (FulfilmentIn, StockIn, ShopifyInventoryIn, CarriersIn):
        add_model(schemas, model)
    add_reply(schemas, StockOut, Fulfilment, Carriers, ShopifyInventory)
