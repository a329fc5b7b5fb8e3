"""The operators' part of the OpenAPI document: depots, fleets, dispatch, merchants and their
storefront connections (api/admin.py)."""

from __future__ import annotations

from typing import Any

from chalicelib.api.admin import DepotIn, DispatchPolicyIn, FleetIn, MerchantIn, SecretRotationIn
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
    DepotCreated,
    DepotOut,
    DepotsPage,
    DispatchPolicyOut,
    DispatchRunOut,
    DispatchRunsPage,
    DispatchStarted,
    FleetOut,
    MerchantCreated,
    MerchantOut,
    MerchantsPage,
    SecretRotated,
)
from chalicelib.labels.sheets import MAX_LABELS

POLICY_EXAMPLE = {"waves": ["07:00", "12:30"], "horizon_hours": 12, "time_limit_s": 10}
FLEET_EXAMPLE = {
    "vehicles": [
        {
            "vehicle_id": "van-1",
            "profile": "van",
            "capacity": {"parcels": 120, "weight_kg": 800},
            "shift": {
                "start": "2030-06-03T08:00:00+01:00",
                "end": "2030-06-03T18:00:00+01:00",
                "breaks": [
                    {
                        "earliest": "2030-06-03T12:00:00+01:00",
                        "latest": "2030-06-03T14:00:00+01:00",
                        "minutes": 30,
                    }
                ],
            },
            "skills": ["fridge"],
        },
        {
            "vehicle_id": "bike-1",
            "profile": "cargo_bike",
            "capacity": {"parcels": 20, "weight_kg": 120},
            "shift": {"start": "2030-06-03T08:00:00+01:00", "end": "2030-06-03T14:00:00+01:00"},
            "max_trips": 3,
            "reload_minutes": 10,
        },
    ]
}


def paths() -> dict[str, dict[str, Any]]:
    return {
        "/v1/depots": {
            "post": op(
                "Create a depot",
                "operator",
                {"201": "created", "401": "not an operator", "409": "exists", "422": "invalid"},
                "DepotIn",
                ("operator",),
                replies={"201": "DepotCreated"},
                example={
                    "name": "London Bridge",
                    "lat": 51.5,
                    "lng": -0.12,
                    "timezone": "Europe/London",
                    "dispatch": POLICY_EXAMPLE,
                },
            ),
            "get": op(
                "The depots, by id, a page at a time",
                "operator",
                {"200": "a page", **LIST_REFUSALS, "401": "not an operator"},
                tags=("operator",),
                query=page_query(),
                replies={"200": "DepotsPage"},
            ),
        },
        "/v1/depots/{depot_id}": {
            "get": op(
                "A depot: where it is, its time zone and dispatch policy",
                "operator",
                {"200": "the depot", "401": "not an operator", "404": "no such depot"},
                tags=("operator",),
                replies={"200": "DepotOut"},
            )
        },
        "/v1/depots/{depot_id}/dispatch-runs": {
            "get": op(
                "The depot's dispatch runs, newest first, a page at a time",
                "operator",
                {
                    "200": "a page",
                    **LIST_REFUSALS,
                    "401": "not an operator",
                    "404": "no such depot",
                },
                tags=("operator",),
                query=page_query(),
                replies={"200": "DispatchRunsPage"},
            )
        },
        "/v1/depots/{depot_id}/vehicles": {
            "put": op(
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
                replies={"200": "FleetOut"},
                example=FLEET_EXAMPLE,
            ),
            "get": op(
                "The depot's fleet",
                "operator",
                {"200": "the fleet", "401": "not an operator", "404": "no such depot"},
                tags=("operator",),
                replies={"200": "FleetOut"},
            ),
        },
        "/v1/depots/{depot_id}/dispatch-policy": {
            "put": op(
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
                replies={"200": "DispatchPolicyOut"},
                example=POLICY_EXAMPLE,
            ),
            "get": op(
                "The depot's dispatch policy",
                "operator",
                {"200": "the policy", "401": "not an operator", "404": "no such depot"},
                tags=("operator",),
                replies={"200": "DispatchPolicyOut"},
            ),
        },
        "/v1/depots/{depot_id}/dispatch": {
            "post": op(
                "Start a dispatch run now (or get the one running): 202 {run_id, started}",
                "operator",
                {"202": "run started or running", "401": "not an operator", "404": "no depot"},
                tags=("operator",),
                replies={"202": "DispatchStarted"},
            )
        },
        "/v1/depots/{depot_id}/labels": {
            "get": pdf_reply(
                op(
                    "A dispatch run's parcel labels as one PDF (4x6 inch pages) in loading order: "
                    "by route, the last stop first; `route_id` for one route. At most "
                    f"{MAX_LABELS} labels an answer (a Lambda answer holds 6 MB)",
                    "operator",
                    {
                        "200": "application/pdf",
                        "401": "not an operator",
                        "404": "no such depot, run of this depot, or route of the run",
                        "409": "no_labels (no stop left to label); concurrent_update",
                        "413": f"more than {MAX_LABELS} labels: ask route by route (route_id)",
                        "422": "run_id missing or too long",
                        **LABEL_PRINTER_REFUSALS,
                    },
                    tags=("operator",),
                    query=[
                        query("run_id", "the dispatch run", required=True, maxLength=128),
                        query("route_id", "one route of the run", maxLength=128),
                    ],
                )
            )
        },
        "/v1/dispatch-runs/{run_id}": {
            "get": op(
                "A dispatch run: status, routes (vehicle, driver token, stops, ETAs, trips), "
                "unassigned orders with the reason, figures",
                "operator",
                {"200": "the run", "401": "not an operator", "404": "no such run"},
                tags=("operator",),
                replies={"200": "DispatchRunOut"},
            )
        },
        "/v1/merchants": {
            "post": op(
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
                replies={"201": "MerchantCreated"},
            ),
            "get": op(
                "The merchants, by id, a page at a time (profiles: never a key or secret)",
                "operator",
                {"200": "a page", **LIST_REFUSALS, "401": "not an operator"},
                tags=("operator",),
                query=page_query(),
                replies={"200": "MerchantsPage"},
            ),
        },
        "/v1/merchants/{merchant_id}": {
            "get": op(
                "A merchant's profile (never a key or secret)",
                "operator",
                {"200": "the merchant", "401": "not an operator", "404": "no such merchant"},
                tags=("operator",),
                replies={"200": "MerchantOut"},
            )
        },
        "/v1/merchants/{merchant_id}/connections/{platform}": {
            "put": op(
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
            "post": op(
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
                replies={"200": "SecretRotated"},
            )
        },
    }


def add_schemas(schemas: dict[str, Any]) -> None:
    for model in (MerchantIn, DepotIn, DispatchPolicyIn, FleetIn, SecretRotationIn):
        add_model(schemas, model)
    add_reply(schemas, DepotOut, DepotsPage, DispatchPolicyOut, DispatchRunsPage, MerchantOut)
    add_reply(schemas, MerchantsPage, DepotCreated, DispatchStarted, MerchantCreated)
    add_reply(schemas, SecretRotated, FleetOut, DispatchRunOut)
    schemas["Connection"] = CONNECTION


CONNECTION = {
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
