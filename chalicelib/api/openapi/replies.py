"""The bodies of the operator's, merchants' and customers' success answers, hand-written (the
views build them as dicts: orders/views.py, dispatch/service.py run_view, tracking/public.py);
the fuzzer (tests/e2e/test_fuzz_openapi.py) holds each answer to them. Fields listed as required
are always there; every body may carry more."""

from __future__ import annotations

from typing import Any

from chalicelib.api.openapi.components import object_schema
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.order import ORDER_MESSAGES

TEXT = {"type": "string"}
MOMENT = {"type": "string", "format": "date-time"}
NUMBER = {"type": "number"}
COUNT = {"type": "integer", "minimum": 0}
STATUS = {"enum": [str(s) for s in OrderStatus]}
NEXT_CURSOR = {"type": ["string", "null"], "description": "null after the last page"}
WINDOW = object_schema({"start": MOMENT, "end": MOMENT})


def _list(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def _fleet() -> dict[str, Any]:
    vehicle = object_schema(
        {
            "vehicle_id": TEXT,
            "profile": TEXT,
            "capacity": object_schema({"parcels": COUNT, "weight_kg": NUMBER}),
            "shift": object_schema(
                {
                    "start": MOMENT,
                    "end": MOMENT,
                    "breaks": _list(
                        object_schema({"earliest": MOMENT, "latest": MOMENT, "minutes": COUNT})
                    ),
                }
            ),
            "skills": _list(TEXT),
            "max_trips": {"type": "integer", "minimum": 1},
            "reload_minutes": COUNT,
        }
    )
    return object_schema({"depot_id": TEXT, "vehicles": _list(vehicle)})


def _run() -> dict[str, Any]:
    stop = object_schema(
        {
            "order_id": TEXT,
            "eta": MOMENT,
            "kind": TEXT,
            "locker_id": TEXT,
            "trip": {"type": "integer", "minimum": 1},
        },
        ["order_id", "eta", "kind"],
    )
    trip = object_schema(
        {
            "trip": {"type": "integer", "minimum": 1},
            "depart_at": MOMENT,
            "return_at": MOMENT,
            "stops": _list(TEXT) | {"description": "order ids in visit order"},
        },
        ["trip", "depart_at", "return_at", "stops"],
    )
    route = object_schema(
        {
            "route_id": TEXT,
            "vehicle_id": TEXT,
            "driver_token": TEXT,
            "start_at": MOMENT,
            "distance_m": COUNT,
            "duration_s": COUNT,
            "stops": _list(stop),
            "trips": _list(trip)
            | {"description": "one, or several when the vehicle reloads at the depot"},
        },
        ["route_id", "vehicle_id", "driver_token", "stops"],
    )
    return object_schema(
        {
            "run_id": TEXT,
            "depot_id": TEXT,
            "status": {"enum": ["running", "succeeded", "failed"]},
            "trigger": TEXT,
            "started_at": MOMENT,
            "finished_at": MOMENT,
            "routes": _list(route),
            "unassigned": _list(object_schema({"order_id": TEXT, "reason": TEXT})),
            "figures": {"type": ["object", "null"]},
            "error": {"type": ["string", "object"]},
        },
        ["run_id", "depot_id", "status", "routes", "unassigned"],
    )


def _public_tracking() -> dict[str, Any]:
    return object_schema(
        {
            "status": STATUS,
            "events": _list(object_schema({"status": STATUS, "at": MOMENT})),
            "first_name": TEXT,
            "city": TEXT,
            "delivery": object_schema(
                {
                    "type": {"enum": ["home", "locker"]},
                    "locker": {"type": "object"},
                    "window": WINDOW,
                },
                ["type"],
            ),
            "eta": MOMENT,
            "eta_window": WINDOW,
            "stops_before": COUNT,
            "shipments": _list(object_schema({"tracking_code": TEXT, "status": STATUS}))
            | {"description": "a split order: every shipment's tracking code and status"},
            "headline": TEXT,
            "destination": TEXT,
            "area": object_schema({"lat": NUMBER, "lng": NUMBER, "radius_m": COUNT}),
            "van": object_schema({"lat": NUMBER, "lng": NUMBER, "at": MOMENT}),
            "merchant": object_schema({"name": TEXT, "colour": TEXT, "help_url": TEXT}, ["name"]),
            "delivery_choices": object_schema(
                {"lockers": _list({"type": "object"}), "home": {"type": "boolean"}}
            ),
        },
        ["status", "headline", "destination", "events", "first_name", "city", "delivery"],
    )


def schemas() -> dict[str, Any]:
    switched_off = object_schema(
        {"type": {"enum": list(ORDER_MESSAGES)}, "channel": {"enum": ["email", "sms"]}}
    )
    sent = object_schema(
        {"type": TEXT, "state": TEXT, "to": TEXT, "attempts": COUNT, "at": MOMENT},
        ["type", "state"],
    )
    endpoint = object_schema(
        {
            "endpoint_id": TEXT,
            "url": TEXT,
            "types": _list(TEXT),
            "created_at": MOMENT,
            "enabled": {"type": "boolean"},
            "disabled_at": MOMENT,
            "disabled_reason": TEXT,
            "failing_since": MOMENT,
        },
        ["endpoint_id", "url", "types", "created_at", "enabled"],
    )
    labels = _list(TEXT)
    proof = object_schema(
        {
            "order_id": TEXT,
            "at": MOMENT,
            "labels_scanned": labels,
            "labels_missing": labels,
            "all_scanned": {"type": "boolean"},
            "recipient_name": TEXT,
            "safe_place": TEXT,
            "photo_url": TEXT | {"format": "uri"},
            "signature_url": TEXT | {"format": "uri"},
            "location": object_schema({"lat": NUMBER, "lng": NUMBER}),
        },
        ["order_id", "at", "labels_scanned", "labels_missing"],
    )
    upload = object_schema(
        {
            "url": TEXT | {"format": "uri"},
            "fields": {"type": "object", "additionalProperties": TEXT},
            "key": TEXT,
            "kind": {"enum": ["photo", "signature"]},
            "content_type": TEXT,
            "min_bytes": COUNT,
            "max_bytes": COUNT,
            "expires_in": COUNT,
        }
    )
    return {
        "Proof": proof,
        "ProofUpload": upload,
        "NotificationPreferences": object_schema({"off": _list(switched_off)}),
        "BrandReply": object_schema(
            {"brand": object_schema({"display_name": TEXT, "colour": TEXT, "help_url": TEXT}, [])},
            ["brand"],
        ),
        "SentMessages": object_schema({"order_id": TEXT, "email": _list(sent), "sms": _list(sent)}),
        "WebhookEndpoint": endpoint,
        "WebhookEndpointCreated": endpoint
        | {
            "properties": endpoint["properties"] | {"secret": TEXT},
            "required": [*endpoint["required"], "secret"],
        },
        "WebhookEndpoints": object_schema(
            {
                "items": _list({"$ref": "#/components/schemas/WebhookEndpoint"}),
                "endpoints": _list({"$ref": "#/components/schemas/WebhookEndpoint"}),
                "next_cursor": NEXT_CURSOR,
            }
        ),
        "Fleet": _fleet(),
        "DispatchRun": _run(),
        "PublicTracking": _public_tracking(),
        "Feedback": object_schema(
            {
                "rating": {"type": "integer", "minimum": 1, "maximum": 5},
                "comment": {"type": ["string", "null"]},
                "at": MOMENT,
            }
        ),
        "Health": object_schema({"status": {"const": "ok"}}),
    }
