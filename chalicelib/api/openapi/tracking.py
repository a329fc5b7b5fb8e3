"""The customers' (public) part of the OpenAPI document: tracking, the tracking page's forms,
feedback, and the liveness check (api/tracking.py)."""

from __future__ import annotations

from typing import Any

from chalicelib.api.openapi.components import RETRY_AFTER, add_model, add_reply, form_op, op
from chalicelib.api.replies import FeedbackOut, Health
from chalicelib.api.tracking import AnotherDayIn, FeedbackIn, LockerChoiceIn
from chalicelib.tracking.public import PublicTracking


def paths() -> dict[str, dict[str, Any]]:
    return {
        "/health": {
            "get": op("Liveness", None, {"200": "ok"}, tags=("ops",), replies={"200": "Health"})
        },
        "/v1/track/{tracking_code}/locker": {
            "post": op(
                "Collect from one of the lockers offered instead ({locker_id}), or have it "
                "delivered home after all ({locker_id: null}); while the order waits to be "
                "planned. 200: the public tracking view",
                None,
                {
                    "200": "the parcel, as GET /v1/track/{tracking_code}",
                    "400": "body is not JSON",
                    "402": "payment_required: the merchant charges for a locker; pay at "
                    "checkout_url (Stripe Checkout), then it happens",
                    "404": "unknown code",
                    "409": "not_offered: not a locker offered for this parcel, or too late to "
                    "change",
                    "422": "locker_id missing",
                    "429": "too many (Retry-After)",
                },
                "LockerChoiceIn",
                ("customers",),
                replies={"200": "PublicTracking"},
            )
        },
        "/v1/track/{tracking_code}/pickup-code": {
            "post": op(
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
            "post": op(
                "Once per parcel: 48 more hours to collect it, with a new code: 202 {pickup_by}",
                None,
                {
                    "202": "extended",
                    "402": "payment_required: the merchant charges for it; pay at checkout_url "
                    "(Stripe Checkout), then it happens",
                    "404": "unknown code",
                    "409": "not_offered: not waiting in a locker, or already extended",
                    "429": "too many (Retry-After)",
                },
                tags=("customers",),
                replies={"202": "PickupBy"},
            )
        },
        "/track/{tracking_code}/locker": {
            "post": form_op(
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
            "post": form_op(
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
            "post": form_op(
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
            "post": op(
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
                replies={"201": "FeedbackOut"},
            )
        },
        "/track/{tracking_code}/feedback": {
            "post": form_op(
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
            "post": _paid_form(
                form_op(
                    "The tracking page's choice of another day after a failed attempt (HTML): "
                    "08:00-20:00 in the depot's zone",
                    {"date": {"type": "string", "format": "date"}},
                    ["date"],
                    {
                        "200": "the page linking to the payment (Stripe Checkout) when the "
                        "merchant charges for another day; the day is chosen once it is paid",
                        "303": "stored; Location is the tracking page",
                        "404": "unknown code (HTML)",
                        "409": "no failed attempt, or no longer waiting for a run (HTML)",
                        "422": "date not tomorrow to 7 days ahead (HTML)",
                        "429": "too many requests (HTML)",
                    },
                )
            )
        },
        "/v1/track/{tracking_code}/reschedule": {
            "post": op(
                "After a failed attempt, deliver on another day ({date}: tomorrow to 7 days "
                "ahead, 08:00-20:00 in the depot's zone). 200: the public tracking view",
                None,
                {
                    "200": "the parcel, as GET /v1/track/{tracking_code}",
                    "400": "body is not JSON",
                    "402": "payment_required: the merchant charges for another day; pay at "
                    "checkout_url (Stripe Checkout), then it happens",
                    "404": "unknown code",
                    "409": "reschedule_not_offered: no failed attempt, or no longer waiting for "
                    "a run",
                    "422": "date missing, or not tomorrow to 7 days ahead",
                    "429": "too many (Retry-After)",
                },
                "AnotherDayIn",
                ("customers",),
                replies={"200": "PublicTracking"},
            )
        },
        "/track/{tracking_code}": {"get": _page()},
        "/static/{name}": {"get": _static()},
        "/v1/track/{tracking_code}": {
            "get": op(
                "Public tracking view: no address, email, phone or last name",
                None,
                {"200": "the parcel", "404": "unknown code", "429": "too many (Retry-After)"},
                tags=("customers",),
                replies={"200": "PublicTracking"},
            )
        },
    }


def _page() -> dict[str, Any]:
    operation = op(
        "Public tracking page (HTML): status, ETA window, progress, timeline, QR code",
        None,
        {},
        tags=("customers",),
    )
    html = {"content": {"text/html": {"schema": {"type": "string"}}}}
    operation["responses"] = {
        "200": {"description": "the page", **html},
        "404": {"description": "unknown code", **html},
        "429": {"description": "too many", "headers": {"Retry-After": RETRY_AFTER}, **html},
    }
    return operation


def _static() -> dict[str, Any]:
    operation = op(
        "The tracking page's map library (MapLibre GL JS, served by us; versioned names, "
        "cached for a year)",
        None,
        {"404": "not one of the files served"},
        tags=("customers",),
    )
    text = {"schema": {"type": "string"}}
    operation["responses"]["200"] = {
        "description": "the file",
        "content": {"text/javascript": text, "text/css": text},
    }
    return operation


def _paid_form(operation: dict[str, Any]) -> dict[str, Any]:
    # A paid action's form answers 200 with the page linking to its payment.
    operation["responses"]["200"]["content"] = {"text/html": {"schema": {"type": "string"}}}
    return operation


def add_schemas(schemas: dict[str, Any]) -> None:
    for model in (AnotherDayIn, FeedbackIn, LockerChoiceIn):
        add_model(schemas, model)
    add_reply(schemas, PublicTracking, FeedbackOut, Health)
