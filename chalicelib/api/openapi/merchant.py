"""The merchants' part of the OpenAPI document: orders, customer messages and webhook
endpoints (api/merchant.py)."""

from __future__ import annotations

from typing import Any

from chalicelib.api.merchant import (
    MAX_EXTERNAL_ID,
    AmendmentIn,
    BrandIn,
    NotificationPreferencesIn,
    WebhookEndpointIn,
)
from chalicelib.api.openapi.components import (
    LABEL_PRINTER_REFUSALS,
    LIST_REFUSALS,
    add_model,
    add_reply,
    op,
    page_query,
    pdf_reply,
    query,
)
from chalicelib.api.replies import (
    BrandReply,
    NotificationPreferencesOut,
    OrderOut,
    OrdersPage,
    ProofOut,
    SentMessagesOut,
    WebhookEndpointCreated,
    WebhookEndpointOut,
    WebhookEndpointsPage,
)
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.order import MAX_EVENT_ID_BYTES
from chalicelib.intake.canonical import CanonicalOrder

IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "The same key again answers with the order it made and changes nothing; "
    f"at most {MAX_EVENT_ID_BYTES} bytes in UTF-8 (422 naming Idempotency-Key otherwise).",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_EVENT_ID_BYTES},
}

STATUSES = [str(s) for s in OrderStatus]

ADDRESS_EXAMPLE = {
    "line1": "1 Tower Bridge Rd",
    "city": "London",
    "postcode": "SE1 2UP",
    "country": "GB",
    "lat": 51.5055,
    "lng": -0.0754,
}
ORDER_EXAMPLE = {
    "external_id": "1001",
    "customer": {"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+447700900123"},
    "address": ADDRESS_EXAMPLE,
    "parcels": [{"weight_kg": 1.2, "size": "M"}],
    "delivery": {"type": "home"},
}


def paths() -> dict[str, dict[str, Any]]:
    return {
        "/v1/orders": {
            "post": op(
                "Create an order (upsert by external_id; optional Idempotency-Key)",
                "merchant",
                {
                    "201": "created",
                    "200": "existing order updated",
                    "400": "not JSON",
                    "401": "bad key",
                    "413": "too large",
                    "422": "invalid field (named)",
                },
                "CanonicalOrder",
                ("merchant",),
                query=[IDEMPOTENCY_KEY],
                replies={"201": "OrderOut", "200": "OrderOut"},
                example=ORDER_EXAMPLE,
            ),
            "get": op(
                "The merchant's orders, newest first, a page at a time; by status, external_id "
                "and creation time",
                "merchant",
                {
                    "200": "a page (`orders` repeats `items`)",
                    **LIST_REFUSALS,
                    "401": "bad key",
                },
                tags=("merchant",),
                query=page_query(
                    query("status", "only orders in this status", enum=STATUSES),
                    query(
                        "external_id",
                        "the storefront's order id (one order per source)",
                        maxLength=MAX_EXTERNAL_ID,
                    ),
                    query("created_from", "created at or after (ISO 8601)", format="date-time"),
                    query("created_to", "created before (ISO 8601)", format="date-time"),
                ),
                replies={"200": "OrdersPage"},
            ),
        },
        "/v1/orders/{order_id}": {
            "get": op(
                "An order with its timeline",
                "merchant",
                {"200": "the order", "401": "bad key", "404": "not yours or none"},
                tags=("merchant",),
                replies={"200": "OrderOut"},
            ),
            "patch": op(
                "Fix an order's address; a held order continues",
                "merchant",
                {
                    "200": "amended",
                    "401": "bad key",
                    "404": "not yours or none",
                    "409": "too late to change",
                    "422": "invalid",
                },
                "AmendmentIn",
                ("merchant",),
                replies={"200": "OrderOut"},
                example={"address": ADDRESS_EXAMPLE},
            ),
        },
        "/v1/brand": {
            "put": op(
                "How the tracking page shows the merchant: display name, colour (#rrggbb) and "
                "an https help link; the whole brand is replaced (a field left out is cleared)",
                "merchant",
                {
                    "200": "the brand",
                    "400": "body is not JSON",
                    "401": "bad key",
                    "422": "colour not #rrggbb, help_url not https, name empty or too long",
                },
                "BrandIn",
                ("merchant",),
                replies={"200": "BrandReply"},
                example={
                    "display_name": "Demo Goods",
                    "colour": "#0b6e4f",
                    "help_url": "https://help.example.com/delivery",
                },
            ),
            "get": op(
                "The brand the tracking page shows",
                "merchant",
                {"200": "the brand", "401": "bad key"},
                tags=("merchant",),
                replies={"200": "BrandReply"},
            ),
        },
        "/v1/orders/{order_id}/cancel": {
            "post": op(
                "Cancel an order: the customer and the webhooks are told once, a planned order "
                "leaves its route; a cancelled order answers as it is",
                "merchant",
                {
                    "200": "the order, cancelled",
                    "401": "bad key",
                    "404": "not yours or none",
                    "409": "illegal_transition: out for delivery or later",
                },
                tags=("merchant",),
                replies={"200": "OrderOut"},
            )
        },
        "/v1/notification-preferences": {
            "put": op(
                "Switch customer messages off by type and channel (all on by default)",
                "merchant",
                {"200": "the preferences", "401": "bad key", "422": "unknown type or channel"},
                "NotificationPreferencesIn",
                ("merchant",),
                replies={"200": "NotificationPreferencesOut"},
                example={"off": [{"type": "order.planned", "channel": "sms"}]},
            ),
            "get": op(
                "The customer messages switched off",
                "merchant",
                {"200": "the preferences", "401": "bad key"},
                tags=("merchant",),
                replies={"200": "NotificationPreferencesOut"},
            ),
        },
        "/v1/orders/{order_id}/labels": {
            "get": pdf_reply(
                op(
                    "The order's parcel labels: a PDF of 4x6 inch pages, one a parcel (its label "
                    "as Code 128 and QR, parcel n of m, depot, route and stop once planned, the "
                    "recipient, the tracking code). An order stored before labels gets them now",
                    "merchant",
                    {
                        "200": "application/pdf",
                        "401": "bad key",
                        "404": "no such order (or another merchant's)",
                        "409": "concurrent_update (the order changed meanwhile: ask again)",
                        **LABEL_PRINTER_REFUSALS,
                    },
                    tags=("merchant",),
                )
            )
        },
        "/v1/orders/{order_id}/proof": {
            "get": op(
                "The order's proof of delivery: recipient, safe place, labels scanned and "
                "missing, the GPS fix and time, and the photo and signature through presigned "
                "URLs good for 5 minutes",
                "merchant",
                {
                    "200": "the proof",
                    "401": "bad key",
                    "404": "no such order (or another merchant's), or proof_not_found (not "
                    "delivered yet)",
                },
                tags=("merchant",),
                replies={"200": "ProofOut"},
            )
        },
        "/v1/orders/{order_id}/notifications": {
            "get": op(
                "What the customer was sent about the order, by channel",
                "merchant",
                {
                    "200": "{order_id, email: [...], sms: [...]}",
                    "401": "bad key",
                    "404": "no such order",
                },
                tags=("merchant",),
                replies={"200": "SentMessagesOut"},
            )
        },
        "/v1/webhook-endpoints": {
            "post": op(
                "Register a webhook endpoint for order events: 201 {endpoint_id, url, types, "
                "secret} (the Standard Webhooks signing secret, shown once)",
                "merchant",
                {
                    "201": "created",
                    "400": "body is not JSON",
                    "401": "bad key",
                    "409": "10 endpoints already",
                    "422": "invalid url or type (named): the url must be https to a host whose "
                    "every address is public (no private, loopback, link-local or reserved "
                    "address in any spelling), port 443 or from 1024, no credentials",
                },
                "WebhookEndpointIn",
                ("merchant",),
                replies={"201": "WebhookEndpointCreated"},
            ),
            "get": op(
                "The merchant's webhook endpoints (no secrets), with any disabled_at and reason, "
                "a page at a time",
                "merchant",
                {"200": "a page", **LIST_REFUSALS, "401": "bad key"},
                tags=("merchant",),
                query=page_query(),
                replies={"200": "WebhookEndpointsPage"},
            ),
        },
        "/v1/webhook-endpoints/{endpoint_id}": {
            "delete": op(
                "Delete a webhook endpoint and its secret",
                "merchant",
                {"204": "deleted", "401": "bad key", "404": "no such endpoint"},
                tags=("merchant",),
            )
        },
        "/v1/webhook-endpoints/{endpoint_id}/enable": {
            "post": op(
                "Deliver again to an endpoint disabled after failing",
                "merchant",
                {"200": "the endpoint", "401": "bad key", "404": "no such endpoint"},
                tags=("merchant",),
                replies={"200": "WebhookEndpointOut"},
            )
        },
    }


def add_schemas(schemas: dict[str, Any]) -> None:
    for model in (
        CanonicalOrder,
        AmendmentIn,
        BrandIn,
        NotificationPreferencesIn,
        WebhookEndpointIn,
    ):
        add_model(schemas, model)
    add_reply(schemas, OrderOut, OrdersPage, BrandReply, SentMessagesOut, ProofOut)
    add_reply(schemas, NotificationPreferencesOut)
    add_reply(schemas, WebhookEndpointOut, WebhookEndpointCreated, WebhookEndpointsPage)
