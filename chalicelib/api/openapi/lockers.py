"""The lockers' part of the OpenAPI document: lockers for operators and merchants, and the
kiosk's deposits, pickups and retrievals (api/lockers.py)."""

from __future__ import annotations

from typing import Any

from chalicelib.api.locker_replies import LOCKER_REPLIES
from chalicelib.api.lockers import CLOCK, LockerIn, OrderRefIn, PickupIn
from chalicelib.api.openapi.components import add_model, add_reply, op, query
from chalicelib.api.replies import LockerCreated
from chalicelib.domain.lockers import CODE_DIGITS, MAX_LOCKER_PARCELS, SIZES


def paths() -> dict[str, dict[str, Any]]:
    return {
        "/v1/lockers": {
            "post": op(
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
            "get": op(
                "Lockers nearest a point with a free compartment for each parcel size asked "
                "(at most 5, nearest first): a merchant sees its depot's, an operator names "
                "the depot",
                ("merchant", "operator"),
                {
                    "200": "{lockers, items, next_cursor: null}: the same lockers twice",
                    "400": "near missing or not lat,lng; a cursor (one page only)",
                    "401": "neither a merchant nor an operator key",
                    "422": "a size not S, M or L; near out of range; depot_id missing with the "
                    "operator key",
                },
                tags=("merchant", "operator"),
                replies={"200": "NearbyLockers"},
                query=[
                    query("near", "lat,lng, e.g. 51.5035,-0.0753", required=True),
                    query(
                        "size",
                        "one parcel's size (neither size nor sizes: one parcel of size M)",
                        enum=[*SIZES],
                    ),
                    query("sizes", "several parcels' sizes, comma-separated, e.g. M,L"),
                    query("depot_id", "the depot (with the operator key; required then)"),
                    query("cursor", "none: the nearest lockers are one page (400 if given)"),
                ],
            ),
        },
        "/v1/lockers/{locker_id}": {
            "get": op(
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
            "post": op(
                "Put an order's parcel(s) behind doors (those reserved for it, else the "
                "smallest free ones that fit); the customer is sent a pickup code by SMS and "
                "email. The same deposit again answers the same doors and sends nothing",
                ("kiosk", "driver"),
                {
                    "201": "deposited",
                    "400": "body is not JSON",
                    "401": "not this locker's kiosk key (or an unknown locker; checked before "
                    "the body is read), or not the driver token of the order's route",
                    "404": "no such order in the locker's depot (with a driver token: or no "
                    "such locker)",
                    "409": "locker_full (the message names the nearest locker with room), "
                    "illegal_transition (the order is not planned or out for delivery), or "
                    f"too_many_parcels (more than {MAX_LOCKER_PARCELS} parcels in one order)",
                    "422": "order_id missing or not an id",
                },
                "OrderRefIn",
                ("kiosks", "drivers"),
                replies={"201": "Deposit"},
            )
        },
        "/v1/lockers/{locker_id}/pickups": {
            "post": op(
                "Open the compartment(s) a pickup code was issued for, once. The kiosk key is "
                "checked before the body is read. Every attempt is counted before its code is "
                "looked at, and at most 5 are looked at in a 15-minute window: the 5th refused "
                "locks the locker's pickups for 15 minutes (the operators are alerted once), "
                "concurrent attempts past the 5th answer 429 too",
                "kiosk",
                {
                    "200": "opened",
                    "400": "body is not JSON",
                    "401": "not this locker's kiosk key (or an unknown locker), whatever the body",
                    "403": "pickup_refused: a wrong, used or expired code, or another "
                    "locker's (one answer for all)",
                    "422": f"code missing or not {CODE_DIGITS} digits",
                    "429": "kiosk_locked (Retry-After: seconds until it opens again)",
                },
                "PickupIn",
                ("kiosks",),
                replies={"200": "Pickup"},
            )
        },
        "/v1/lockers/{locker_id}/retrievals": {
            "post": op(
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
                    "422": "order_id missing or not an id",
                },
                "OrderRefIn",
                ("kiosks", "drivers"),
                replies={"200": "Retrieval"},
            )
        },
    }


def add_schemas(schemas: dict[str, Any]) -> None:
    for model in (OrderRefIn, PickupIn):
        add_model(schemas, model)
    # Its nested models share names with the canonical order's (AddressIn): kept apart.
    add_model(schemas, LockerIn, prefix="Locker")
    hours = schemas["LockerHoursIn"]["properties"]
    hours["open"]["pattern"] = hours["close"]["pattern"] = CLOCK.pattern
    hours["close"]["description"] = "after open; 24:00 for midnight"
    schemas["PickupIn"]["properties"]["code"]["description"] = (
        f"the customer's {CODE_DIGITS}-digit pickup code (typed, or scanned from the QR code)"
    )
    add_reply(schemas, LockerCreated, *LOCKER_REPLIES)
