"""The OpenAPI 3.1 description of the public API, served at GET /openapi.json. Written by hand
(one entry per route), with request schemas taken from the pydantic models that validate them;
a test holds it and the Chalice routes to each other."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from chalice import Blueprint
from pydantic import BaseModel

from chalicelib.api.admin import DepotIn, DispatchPolicyIn, FleetIn, MerchantIn, SecretRotationIn
from chalicelib.api.driver import ProofUploadIn, RouteEventIn
from chalicelib.api.http import json_response, route
from chalicelib.api.lockers import CLOCK, LockerIn, OrderRefIn, PickupIn
from chalicelib.api.merchant import AmendmentIn, NotificationPreferencesIn, WebhookEndpointIn
from chalicelib.api.tracking import FeedbackIn, LockerChoiceIn
from chalicelib.config import settings
from chalicelib.domain.lockers import CODE_DIGITS, SIZES
from chalicelib.intake.canonical import CanonicalOrder

openapi = Blueprint(__name__)

ERROR = {"$ref": "#/components/schemas/Error"}
REF = "#/components/schemas/"


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _op(
    summary: str,
    security: str | tuple[str, ...] | None,
    responses: dict[str, str],
    body: str | None = None,
    tags: tuple[str, ...] = (),
    replies: dict[str, str] | None = None,
    query: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One operation. `security`: the scheme, or schemes any one of which will do; `replies`:
    the schema of a success's body by status; `query`: its query parameters."""
    op: dict[str, Any] = {
        "summary": summary,
        "tags": list(tags),
        "responses": {code: _response(code, text, replies) for code, text in responses.items()},
    }
    schemes = (security,) if isinstance(security, str) else security or ()
    op["security"] = [{scheme: []} for scheme in schemes]
    if body:
        op["requestBody"] = {"required": True, **_json({"$ref": REF + body})}
    if query:
        op["parameters"] = query
    return op


def _response(code: str, text: str, replies: dict[str, str] | None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": text}
    if code[0] in "45":
        response |= _json(ERROR)
    elif replies and code in replies:
        response |= _json({"$ref": REF + replies[code]})
    if code == "429":
        # Every 429 says when to come back (api/http.py error_response).
        response["headers"] = {"Retry-After": RETRY_AFTER}
    return response


RETRY_AFTER = {
    "description": "seconds until a try may succeed",
    "schema": {"type": "integer", "minimum": 0},
}


def _query(name: str, description: str, *, required: bool = False, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": {"type": "string", **schema},
    }


def _form_op(
    summary: str,
    fields: dict[str, Any],
    required: list[str],
    responses: dict[str, str],
) -> dict[str, Any]:
    """A public HTML form's POST: form-encoded fields in (a button's form may have none), an
    HTML page (or a 303) out."""
    op = _op(summary, None, {}, tags=("customers",))
    op["responses"] = {
        code: {"description": text, **({"content": {"text/html": {}}} if code[0] in "45" else {})}
        for code, text in responses.items()
    }
    if "429" in op["responses"]:
        op["responses"]["429"]["headers"] = {"Retry-After": RETRY_AFTER}
    schema = {"type": "object", "required": required, "properties": fields}
    op["requestBody"] = {
        "required": bool(required),
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
                "deposited, retrieved, location); retried event ids count once. `deposited` "
                "puts the order into its locker (or `locker_id`, another of the depot's) as the "
                "kiosk's deposit does; `retrieved` takes an expired parcel back out",
                "driver",
                {
                    "202": "applied or duplicate (see `outcome`)",
                    "400": "not JSON",
                    "401": "not this route's driver token",
                    "404": "no such route, or the order is not on it, or no such locker",
                    "409": "the order cannot make that move; locker_full (the message names the "
                    "nearest locker with room)",
                    "422": "invalid field (named); locker_id missing for a home stop",
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
        "/v1/lockers": {
            "post": _op(
                "Create a locker and its compartments: 201 {locker_id, kiosk_key} (the kiosk "
                "key is shown once; only its hash is kept)",
                "operator",
                {
                    "201": "created",
                    "400": "body is not JSON",
                    "401": "not an operator",
                    "409": "a locker with that locker_id exists",
                    "422": "invalid field (named), no such depot, or a repeated compartment_id",
                },
                "LockerIn",
                ("operator",),
                replies={"201": "LockerCreated"},
            ),
            "get": _op(
                "Lockers nearest a point with a free compartment for each parcel size asked "
                "(at most 5, nearest first): a merchant sees its depot's, an operator names "
                "the depot",
                ("merchant", "operator"),
                {
                    "200": "{lockers: [...]}",
                    "400": "near missing or not lat,lng",
                    "401": "neither a merchant nor an operator key",
                    "422": "a size not S, M or L; near out of range; depot_id missing with the "
                    "operator key",
                },
                tags=("merchant", "operator"),
                replies={"200": "NearbyLockers"},
                query=[
                    _query("near", "lat,lng, e.g. 51.5035,-0.0753", required=True),
                    _query(
                        "size",
                        "one parcel's size (neither size nor sizes: one parcel of size M)",
                        enum=[*SIZES],
                    ),
                    _query("sizes", "several parcels' sizes, comma-separated, e.g. M,L"),
                    _query("depot_id", "the depot (with the operator key; required then)"),
                ],
            ),
        },
        "/v1/lockers/{locker_id}": {
            "get": _op(
                "A locker for operators: its compartments and their state, and its figures "
                "(by size and state, occupancy, deposits, pickups, expiries, mean dwell, "
                "expiry rate)",
                "operator",
                {"200": "the locker", "401": "not an operator", "404": "no such locker"},
                tags=("operator",),
                replies={"200": "LockerView"},
            )
        },
        "/v1/lockers/{locker_id}/deposits": {
            "post": _op(
                "Put an order's parcel(s) behind doors (those reserved for it, else the "
                "smallest free ones that fit); the customer is sent a pickup code by SMS and "
                "email. The same deposit again answers the same doors and sends nothing",
                ("kiosk", "driver"),
                {
                    "201": "deposited",
                    "400": "body is not JSON",
                    "401": "not this locker's kiosk key (or an unknown locker), or not the "
                    "driver token of the order's route",
                    "404": "no such order in the locker's depot (with a driver token: or no "
                    "such locker)",
                    "409": "locker_full (the message names the nearest locker with room), or "
                    "illegal_transition (the order is not planned or out for delivery)",
                    "422": "order_id missing",
                },
                "OrderRefIn",
                ("kiosks", "drivers"),
                replies={"201": "Deposit"},
            )
        },
        "/v1/lockers/{locker_id}/pickups": {
            "post": _op(
                "Open the compartment(s) a pickup code was issued for, once. After 5 refused "
                "codes in 15 minutes the locker's pickups answer 429 for 15 minutes (and the "
                "operators are alerted)",
                "kiosk",
                {
                    "200": "opened",
                    "400": "body is not JSON",
                    "401": "not this locker's kiosk key (or an unknown locker)",
                    "403": "pickup_refused: a wrong, used or expired code, or another "
                    "locker's (one answer for all)",
                    "422": "code missing",
                    "429": "kiosk_locked (Retry-After: seconds until it opens again)",
                },
                "PickupIn",
                ("kiosks",),
                replies={"200": "Pickup"},
            )
        },
        "/v1/lockers/{locker_id}/retrievals": {
            "post": _op(
                "Take an expired (uncollected) parcel back out; its doors are free again. The "
                "same retrieval again answers the same",
                ("driver", "kiosk"),
                {
                    "200": "retrieved",
                    "400": "body is not JSON",
                    "401": "not this locker's kiosk key, or not the driver token of the route "
                    "planned to retrieve it",
                    "404": "no such order, or it is not in this locker",
                    "409": "illegal_transition: the parcel has not expired (or was collected)",
                    "422": "order_id missing",
                },
                "OrderRefIn",
                ("kiosks", "drivers"),
                replies={"200": "Retrieval"},
            )
        },
        "/v1/track/{tracking_code}/locker": {
            "post": _op(
                "Collect from one of the lockers offered instead ({locker_id}), or have it "
                "delivered home after all ({locker_id: null}); while the order waits to be "
                "planned. 200: the public tracking view",
                None,
                {
                    "200": "the parcel, as GET /v1/track/{tracking_code}",
                    "400": "body is not JSON",
                    "404": "unknown code",
                    "409": "not_offered: not a locker offered for this parcel, or too late to "
                    "change",
                    "422": "locker_id missing",
                    "429": "too many (Retry-After)",
                },
                "LockerChoiceIn",
                ("customers",),
            )
        },
        "/v1/track/{tracking_code}/pickup-code": {
            "post": _op(
                "A new pickup code for the parcel waiting in a locker, by SMS and email (the "
                "old one stops working): 202 {pickup_by}",
                None,
                {
                    "202": "sent",
                    "404": "unknown code",
                    "409": "not_offered: not waiting in a locker, or new codes used up",
                    "429": "too many (Retry-After)",
                },
                tags=("customers",),
                replies={"202": "PickupBy"},
            )
        },
        "/v1/track/{tracking_code}/extension": {
            "post": _op(
                "Once per parcel: 48 more hours to collect it, with a new code: 202 {pickup_by}",
                None,
                {
                    "202": "extended",
                    "404": "unknown code",
                    "409": "not_offered: not waiting in a locker, or already extended",
                    "429": "too many (Retry-After)",
                },
                tags=("customers",),
                replies={"202": "PickupBy"},
            )
        },
        "/track/{tracking_code}/locker": {
            "post": _form_op(
                "The tracking page's locker choice (HTML): a locker offered, or home",
                {
                    "locker_id": {
                        "type": "string",
                        "description": 'one of the lockers the page offers, or "home"',
                    }
                },
                ["locker_id"],
                {
                    "303": "stored; Location is the tracking page",
                    "404": "unknown code (HTML)",
                    "409": "not a locker offered, or too late to change (HTML)",
                    "422": "no choice made (HTML)",
                    "429": "too many requests (HTML)",
                },
            )
        },
        "/track/{tracking_code}/pickup-code": {
            "post": _form_op(
                "The tracking page's 'send me a new code' button (HTML)",
                {},
                [],
                {
                    "303": "sent; Location is the tracking page",
                    "404": "unknown code (HTML)",
                    "409": "not waiting in a locker, or new codes used up (HTML)",
                    "429": "too many requests (HTML)",
                },
            )
        },
        "/track/{tracking_code}/extension": {
            "post": _form_op(
                "The tracking page's 'more time' button (HTML): 48 hours more, once",
                {},
                [],
                {
                    "303": "extended; Location is the tracking page",
                    "404": "unknown code (HTML)",
                    "409": "not waiting in a locker, or already extended (HTML)",
                    "429": "too many requests (HTML)",
                },
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
        paths["/local/schedules/{name}"] = {
            "post": _op(
                "Run a scheduled function now (locker_sweep, webhook_retries, reconcile), "
                "optionally as of {time}: e.g. the locker sweep three days ahead",
                None,
                {"200": "{function, result}", "404": "no such function", "422": "invalid"},
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
        OrderRefIn,
        PickupIn,
        LockerChoiceIn,
    ):
        _add_model(schemas, model)
    # Its nested models share names with the canonical order's (AddressIn): kept apart.
    _add_model(schemas, LockerIn, prefix="Locker")
    hours = schemas["LockerHoursIn"]["properties"]
    hours["open"]["pattern"] = hours["close"]["pattern"] = CLOCK.pattern
    hours["close"]["description"] = "after open; 24:00 for midnight"
    schemas["PickupIn"]["properties"]["code"]["description"] = (
        f"the customer's {CODE_DIGITS}-digit pickup code (typed, or scanned from the QR code)"
    )
    schemas |= _locker_replies()
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
            "description": "Last-mile delivery backend: intake, tracking, dispatch, lockers.",
        },
        "servers": [{"url": settings().public_base_url}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "operator": bearer | {"description": "the operator (admin) key"},
                "merchant": bearer | {"description": "the merchant's API key"},
                "driver": bearer | {"description": "the route's driver token"},
                "kiosk": bearer | {"description": "the locker's kiosk key (shown once)"},
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


def _add_model(schemas: dict[str, Any], model: type[BaseModel], prefix: str = "") -> None:
    """A request model and the models it nests (named `prefix` + their name); a nested name
    already taken by a different schema is an error, never a silent overwrite."""
    schema = model.model_json_schema(ref_template=REF + prefix + "{model}")
    for name, nested in schema.pop("$defs", {}).items():
        if schemas.setdefault(prefix + name, nested) != nested:
            raise ValueError(f"two schemas named {prefix + name}: give {model.__name__} a prefix")
    schemas[model.__name__] = schema


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "required": list(properties) if required is None else required,
        "properties": properties,
    }


def _locker_replies() -> dict[str, Any]:
    """The bodies the locker routes answer with (hand-written: they are built as dicts)."""
    text = {"type": "string"}
    number = {"type": "number"}
    count = {"type": "integer", "minimum": 0}
    ratio = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
    doors = {"type": "array", "items": text, "minItems": 1}
    by_size = {"type": "object", "propertyNames": {"enum": [*SIZES]}, "additionalProperties": count}
    states = ["free", "reserved", "occupied", "awaiting_retrieval"]
    public = {
        "locker_id": text,
        "name": text,
        "lat": number,
        "lng": number,
        "opening_hours": text | {"description": 'e.g. "daily 24 hours", "Mon-Sat 07:00-22:00"'},
        "address": text | {"description": "line1, city postcode (when the locker has one)"},
    }
    public_required = ["locker_id", "name", "lat", "lng", "opening_hours"]
    deadline = text | {"format": "date-time", "description": "UTC; after it the code expires"}
    return {
        "LockerCreated": _object(
            {
                "locker_id": text,
                "kiosk_key": text | {"description": "the kiosk's Bearer credential, shown once"},
            }
        ),
        "NearbyLockers": _object(
            {
                "lockers": {
                    "type": "array",
                    "items": _object(
                        public
                        | {
                            "distance_m": count,
                            "free": by_size | {"description": "free compartments by size"},
                        },
                        [*public_required, "distance_m", "free"],
                    ),
                }
            }
        ),
        "LockerView": _object(
            public
            | {
                "depot_id": text,
                "holding_hours": count,
                "compartments": {
                    "type": "array",
                    "items": _object(
                        {
                            "compartment_id": text,
                            "size": {"enum": [*SIZES]},
                            "state": {"enum": states},
                            "order_id": text | {"description": "the order holding it"},
                        },
                        ["compartment_id", "size", "state"],
                    ),
                },
                "figures": _object(
                    {
                        "by_size": {
                            "type": "object",
                            "description": "compartments by size, then by state",
                            "additionalProperties": {
                                "type": "object",
                                "propertyNames": {"enum": states},
                                "additionalProperties": count,
                            },
                        },
                        "occupancy": ratio | {"type": "number"},
                        "deposits": count,
                        "pickups": count,
                        "expiries": count,
                        "mean_dwell_hours": {"type": ["number", "null"], "minimum": 0},
                        "expiry_rate": ratio | {"description": "expiries / (pickups + expiries)"},
                    }
                ),
            },
            [*public_required, "depot_id", "holding_hours", "compartments", "figures"],
        ),
        "Deposit": _object(
            {
                "order_id": text,
                "compartment_id": text | {"description": "the first of compartment_ids"},
                "compartment_ids": doors | {"description": "one per parcel"},
                "pickup_by": deadline,
            }
        ),
        "Pickup": _object(
            {
                "order_id": text,
                "compartment_id": text | {"description": "the first of compartment_ids"},
                "compartment_ids": doors | {"description": "the doors to open"},
            }
        ),
        "Retrieval": _object({"order_id": text, "compartment_ids": doors}),
        "PickupBy": _object({"pickup_by": deadline}),
    }


@route(openapi, "/openapi.json", methods=["GET"])
def openapi_json() -> Any:
    return json_response(document())
