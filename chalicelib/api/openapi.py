"""The OpenAPI 3.1 description of the public API, served at GET /openapi.json. Written by hand
(one entry per route), with request schemas taken from the pydantic models that validate them;
a test holds it and the Chalice routes to each other."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from chalice import Blueprint

from chalicelib.api.admin import DepotIn, DispatchPolicyIn, FleetIn, MerchantIn, SecretRotationIn
from chalicelib.api.driver import ProofUploadIn, RouteEventIn
from chalicelib.api.http import json_response, route
from chalicelib.api.merchant import AmendmentIn, NotificationPreferencesIn, WebhookEndpointIn
from chalicelib.api.tracking import FeedbackIn
from chalicelib.config import settings
from chalicelib.intake.canonical import CanonicalOrder

openapi = Blueprint(__name__)

ERROR = {"$ref": "#/components/schemas/Error"}
REF = "#/components/schemas/"


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _op(
    summary: str,
    security: str | None,
    responses: dict[str, str],
    body: str | None = None,
    tags: tuple[str, ...] = (),
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "tags": list(tags),
        "responses": {
            code: {"description": text, **(_json(ERROR) if code[0] in "45" else {})}
            for code, text in responses.items()
        },
    }
    op["security"] = [{security: []}] if security else []
    if body:
        op["requestBody"] = {"required": True, **_json({"$ref": REF + body})}
    return op


def _form_op(
    summary: str,
    fields: dict[str, Any],
    required: list[str],
    responses: dict[str, str],
) -> dict[str, Any]:
    """A public HTML form's POST: form-encoded fields in, an HTML page (or a 303) out."""
    op = _op(summary, None, {}, tags=("customers",))
    op["responses"] = {
        code: {"description": text, **({"content": {"text/html": {}}} if code[0] in "45" else {})}
        for code, text in responses.items()
    }
    schema = {"type": "object", "required": required, "properties": fields}
    op["requestBody"] = {
        "required": True,
        "content": {"application/x-www-form-urlencoded": {"schema": schema}},
    }
    return op


SIGNED = {
    "200": "applied, duplicate, stale or ignored (see `outcome`)",
    "400": "body is not JSON",
    "401": "bad or missing signature",
    "413": "body over 1 MB",
    "422": "invalid field (named)",
}


def _paths() -> dict[str, dict[str, Any]]:
    paths: dict[str, dict[str, Any]] = {
        "/health": {"get": _op("Liveness", None, {"200": "ok"}, tags=("ops",))},
        "/openapi.json": {"get": _op("This document", None, {"200": "OpenAPI 3.1"})},
        "/v1/depots": {
            "post": _op(
                "Create a depot",
                "operator",
                {"201": "created", "401": "not an operator", "409": "exists", "422": "invalid"},
                "DepotIn",
                ("operator",),
            )
        },
        "/v1/depots/{depot_id}/vehicles": {
            "put": _op(
                "Replace the depot's fleet",
                "operator",
                {
                    "200": "the fleet",
                    "401": "not an operator",
                    "404": "no such depot",
                    "422": "invalid (field named)",
                },
                "FleetIn",
                ("operator",),
            ),
            "get": _op(
                "The depot's fleet",
                "operator",
                {"200": "the fleet", "401": "not an operator", "404": "no such depot"},
                tags=("operator",),
            ),
        },
        "/v1/depots/{depot_id}/dispatch-policy": {
            "put": _op(
                "Replace the depot's dispatch policy (waves, rolling window, horizon, weights)",
                "operator",
                {
                    "200": "the policy",
                    "401": "not an operator",
                    "404": "no such depot",
                    "422": "invalid (field named)",
                },
                "DispatchPolicyIn",
                ("operator",),
            )
        },
        "/v1/depots/{depot_id}/dispatch": {
            "post": _op(
                "Start a dispatch run now (or get the one running): 202 {run_id, started}",
                "operator",
                {"202": "run started or running", "401": "not an operator", "404": "no depot"},
                tags=("operator",),
            )
        },
        "/v1/dispatch-runs/{run_id}": {
            "get": _op(
                "A dispatch run: status, routes (vehicle, driver token, stops, ETAs), "
                "unassigned orders with the reason, figures",
                "operator",
                {"200": "the run", "401": "not an operator", "404": "no such run"},
                tags=("operator",),
            )
        },
        "/v1/merchants": {
            "post": _op(
                "Create a merchant (keys shown once)",
                "operator",
                {
                    "201": "created",
                    "401": "not an operator",
                    "409": "Stripe account taken",
                    "422": "invalid",
                },
                "MerchantIn",
                ("operator",),
            )
        },
        "/v1/merchants/{merchant_id}/connections/{platform}": {
            "put": _op(
                "Connect a storefront's API for catch-up (credentials stored, never shown)",
                "operator",
                {
                    "204": "stored",
                    "400": "not JSON",
                    "401": "not an operator",
                    "404": "no such merchant",
                    "422": "invalid (field named)",
                },
                "Connection",
                ("operator",),
            )
        },
        "/v1/merchants/{merchant_id}/webhook-secrets": {
            "post": _op(
                "Rotate a storefront signing secret (the old one works 72 h)",
                "operator",
                {
                    "200": "rotated",
                    "401": "not an operator",
                    "404": "no such merchant",
                    "422": "invalid",
                },
                "SecretRotationIn",
                ("operator",),
            )
        },
        "/v1/orders": {
            "post": _op(
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
            ),
            "get": _op(
                "List orders, optionally by external_id",
                "merchant",
                {"200": "orders", "401": "bad key"},
                tags=("merchant",),
            ),
        },
        "/v1/orders/{order_id}": {
            "get": _op(
                "An order with its timeline",
                "merchant",
                {"200": "the order", "401": "bad key", "404": "not yours or none"},
                tags=("merchant",),
            ),
            "patch": _op(
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
            ),
        },
        "/v1/webhooks/shopify/{merchant_id}": {
            "post": _op(
                "Shopify orders/create, orders/updated, orders/cancelled",
                "shopifyHmac",
                SIGNED,
                tags=("storefronts",),
            )
        },
        "/v1/webhooks/woocommerce/{merchant_id}": {
            "post": _op(
                "WooCommerce order.created/updated/deleted (and the unsigned ping)",
                "wooSignature",
                SIGNED,
                tags=("storefronts",),
            )
        },
        "/v1/webhooks/generic/{merchant_id}": {
            "post": _op(
                "Standard Webhooks: {type: order.created|order.updated|order.cancelled,"
                " data: CanonicalOrder}",
                "standardWebhooks",
                SIGNED,
                "GenericEvent",
                ("storefronts",),
            )
        },
        "/v1/webhooks/stripe": {
            "post": _op(
                "Stripe checkout.session.completed from a connected account",
                "stripeSignature",
                SIGNED,
                tags=("storefronts",),
            )
        },
        "/v1/notification-preferences": {
            "put": _op(
                "Switch customer messages off by type and channel (all on by default)",
                "merchant",
                {"200": "the preferences", "401": "bad key", "422": "unknown type or channel"},
                "NotificationPreferencesIn",
                ("merchant",),
            ),
            "get": _op(
                "The customer messages switched off",
                "merchant",
                {"200": "the preferences", "401": "bad key"},
                tags=("merchant",),
            ),
        },
        "/v1/orders/{order_id}/notifications": {
            "get": _op(
                "What the customer was sent about the order, by channel",
                "merchant",
                {
                    "200": "{order_id, email: [...], sms: [...]}",
                    "401": "bad key",
                    "404": "no such order",
                },
                tags=("merchant",),
            )
        },
        "/v1/webhook-endpoints": {
            "post": _op(
                "Register a webhook endpoint for order events: 201 {endpoint_id, url, types, "
                "secret} (the Standard Webhooks signing secret, shown once)",
                "merchant",
                {
                    "201": "created",
                    "400": "body is not JSON",
                    "401": "bad key",
                    "409": "10 endpoints already",
                    "422": "invalid url or type (named)",
                },
                "WebhookEndpointIn",
                ("merchant",),
            ),
            "get": _op(
                "The merchant's webhook endpoints (no secrets), with any disabled_at and reason",
                "merchant",
                {"200": "{endpoints: [...]}", "401": "bad key"},
                tags=("merchant",),
            ),
        },
        "/v1/webhook-endpoints/{endpoint_id}": {
            "delete": _op(
                "Delete a webhook endpoint and its secret",
                "merchant",
                {"204": "deleted", "401": "bad key", "404": "no such endpoint"},
                tags=("merchant",),
            )
        },
        "/v1/webhook-endpoints/{endpoint_id}/enable": {
            "post": _op(
                "Deliver again to an endpoint disabled after failing",
                "merchant",
                {"200": "the endpoint", "401": "bad key", "404": "no such endpoint"},
                tags=("merchant",),
            )
        },
        "/v1/routes/{route_id}/events": {
            "post": _op(
                "A driver's event on the route (departed, arrived, delivered, failed, "
                "deposited, location); retried event ids count once",
                "driver",
                {
                    "202": "applied or duplicate (see `outcome`)",
                    "400": "not JSON",
                    "401": "not this route's driver token",
                    "404": "no such route, or the order is not on it",
                    "409": "the order cannot make that move",
                    "422": "invalid field (named)",
                },
                "RouteEventIn",
                ("drivers",),
            )
        },
        "/v1/routes/{route_id}/proof-uploads": {
            "post": _op(
                "A presigned URL to upload a proof-of-delivery photo (15 minutes)",
                "driver",
                {
                    "201": "upload_url and photo_key",
                    "401": "not this route's driver token",
                    "404": "no such route, or the order is not on it",
                    "422": "invalid",
                },
                "ProofUploadIn",
                ("drivers",),
            )
        },
        "/v1/track/{tracking_code}/feedback": {
            "post": _op(
                "Rate a delivered or collected parcel (1-5, comment up to 500), once per order",
                None,
                {
                    "201": "stored: rating, comment, at",
                    "400": "body is not JSON",
                    "404": "unknown code",
                    "409": "already rated, or not delivered or collected yet",
                    "422": "rating not 1-5, or comment over 500 characters",
                    "429": "too many (Retry-After)",
                },
                "FeedbackIn",
                ("customers",),
            )
        },
        "/track/{tracking_code}/feedback": {
            "post": _form_op(
                "The tracking page's rating form (HTML): stored once, then back to the page",
                {
                    "rating": {"type": "string", "enum": ["1", "2", "3", "4", "5"]},
                    "comment": {"type": "string", "maxLength": 500},
                },
                ["rating"],
                {
                    "303": "stored; Location is the tracking page",
                    "404": "unknown code (HTML)",
                    "409": "already rated, or not delivered yet (HTML)",
                    "422": "rating not 1-5, or comment too long (HTML)",
                    "429": "too many requests (HTML)",
                },
            )
        },
        "/track/{tracking_code}/reschedule": {
            "post": _form_op(
                "The tracking page's choice of another day after a failed attempt (HTML): "
                "08:00-20:00 in the depot's zone",
                {"date": {"type": "string", "format": "date"}},
                ["date"],
                {
                    "303": "stored; Location is the tracking page",
                    "404": "unknown code (HTML)",
                    "409": "no failed attempt, or no longer waiting for a run (HTML)",
                    "422": "date not tomorrow to 7 days ahead (HTML)",
                    "429": "too many requests (HTML)",
                },
            )
        },
        "/track/{tracking_code}": {
            "get": _op(
                "Public tracking page (HTML): status, ETA window, progress, timeline, QR code",
                None,
                {"200": "the page", "404": "unknown code (HTML)", "429": "too many requests"},
                tags=("customers",),
            )
        },
        "/v1/track/{tracking_code}": {
            "get": _op(
                "Public tracking view: no address, email, phone or last name",
                None,
                {"200": "the parcel", "404": "unknown code", "429": "too many (Retry-After)"},
                tags=("customers",),
            )
        },
    }
    if settings().is_local:
        paths["/local/outbox"] = {
            "get": _op(
                "Email and SMS the local runtime captured",
                None,
                {"200": "messages"},
                tags=("local",),
            )
        }
        paths["/local/vendors/sendgrid/script"] = {
            "post": _op(
                "The local SendGrid's next answers, e.g. {statuses: [429, 202]}",
                None,
                {"200": "scripted", "422": "invalid"},
                tags=("local",),
            )
        }
    return paths


@cache
def document() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for model in (
        CanonicalOrder,
        MerchantIn,
        DepotIn,
        DispatchPolicyIn,
        FleetIn,
        SecretRotationIn,
        AmendmentIn,
        NotificationPreferencesIn,
        WebhookEndpointIn,
        RouteEventIn,
        ProofUploadIn,
        FeedbackIn,
    ):
        schema = model.model_json_schema(ref_template=REF + "{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    schemas["GenericEvent"] = {
        "type": "object",
        "required": ["type", "data"],
        "properties": {
            "type": {"enum": ["order.created", "order.updated", "order.cancelled"]},
            "data": {"$ref": REF + "CanonicalOrder"},
        },
    }
    schemas["Connection"] = {
        "oneOf": [
            {
                "title": "shopify",
                "type": "object",
                "required": ["shop", "access_token"],
                "properties": {
                    "shop": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$"},
                    "access_token": {"type": "string", "description": "Admin API, read_orders"},
                },
            },
            {
                "title": "woocommerce",
                "type": "object",
                "required": ["url", "consumer_key", "consumer_secret"],
                "properties": {
                    "url": {"type": "string", "pattern": "^https://"},
                    "consumer_key": {"type": "string"},
                    "consumer_secret": {"type": "string"},
                },
            },
        ]
    }
    schemas["Error"] = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "field": {"type": "string"},
                },
            }
        },
    }
    bearer = {"type": "http", "scheme": "bearer"}
    paths = _paths()
    for path, item in paths.items():
        names = re.findall(r"{(\w+)}", path)
        if names:
            item["parameters"] = [
                {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                for n in names
            ]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "lastmile",
            "version": "1",
            "description": "Last-mile delivery backend: intake, tracking, dispatch.",
        },
        "servers": [{"url": settings().public_base_url}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "operator": bearer | {"description": "the operator (admin) key"},
                "merchant": bearer | {"description": "the merchant's API key"},
                "driver": bearer | {"description": "the route's driver token"},
                "shopifyHmac": {"type": "apiKey", "in": "header", "name": "X-Shopify-Hmac-Sha256"},
                "wooSignature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-WC-Webhook-Signature",
                },
                "standardWebhooks": {"type": "apiKey", "in": "header", "name": "webhook-signature"},
                "stripeSignature": {"type": "apiKey", "in": "header", "name": "Stripe-Signature"},
            },
        },
    }


@route(openapi, "/openapi.json", methods=["GET"])
def openapi_json() -> Any:
    return json_response(document())
