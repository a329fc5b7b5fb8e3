"""The drivers' part of the OpenAPI document: a route read back, its events and proof uploads
(api/driver.py)."""

from __future__ import annotations

from typing import Any

from chalicelib.api.driver import ProofUploadIn, RouteEventIn
from chalicelib.api.openapi.components import add_model, add_reply, op
from chalicelib.api.replies import ProofUploadOut, RouteEventOut
from chalicelib.tracking.route_view import RouteOut


def paths() -> dict[str, dict[str, Any]]:
    return {
        "/v1/routes/{route_id}": {
            "get": op(
                "The route's current stops in order, each with its status (pending, done, "
                "cancelled, dropped) and live ETA, and the address a home stop's driver drives "
                "to (none for a stop whose order has left the route), and the route's trips: a "
                "live re-plan that inserted orders sends the van to the depot to load them, the "
                "stops after that a new trip (`departed` when it leaves the depot again). A "
                "live re-plan changes the list: the app re-reads it after every event it posts. "
                "With the operator key, also the vehicle's last position",
                ("driver", "operator"),
                {
                    "200": "the route",
                    "401": "neither this route's driver token nor the operator key, or "
                    "token_expired",
                    "404": "no such route",
                },
                tags=("drivers", "operators"),
                replies={"200": "RouteOut"},
            )
        },
        "/v1/routes/{route_id}/events": {
            "post": op(
                "A driver's event on the route (scanned, departed, arrived, delivered, failed, "
                "deposited, retrieved, location); retried event ids count once. `scanned` "
                "`{label}` at the depot marks that parcel loaded (once); `departed` lists the "
                "parcels not loaded (`not_loaded`, also on the route). `delivered` may carry "
                "`labels` scanned at the door (the proof records those missing) and a `proof` "
                "citing the keys of this stop's uploads. `deposited` "
                "puts the order into its locker (or `locker_id`, another of the depot's) as the "
                "kiosk's deposit does; `retrieved` takes an expired parcel back out. The token "
                "is checked before the body is read. `at` is the phone's time: more than 5 "
                "minutes ahead of the server's (or a position over 15 minutes old, a door event "
                "over 12 hours old) it is kept in the record and the server's time used. A "
                "`location` fix at (0, 0), far outside the depot's area, or farther from the last "
                "one than a vehicle can drive is kept on the route and ignored for ETAs "
                "(`fix`: used|ignored, `ignored`: why). ETAs run on server time",
                "driver",
                {
                    "202": "applied or duplicate (see `outcome`)",
                    "400": "not JSON",
                    "401": "not this route's driver token, or token_expired (its route's day is "
                    "over)",
                    "404": "no such route, or the order is not on it, or no such locker",
                    "409": "the order cannot make that move; not_on_route (it was re-planned or "
                    "released: re-read the route); stop_not_pending (served, cancelled or "
                    "dropped); locker_full (the message names the nearest locker with room); "
                    "wrong_parcel (a label not of this route's stops, or at the door not of "
                    "this order: nothing is recorded)",
                    "422": "invalid field (named); locker_id missing for a home stop; a proof "
                    "key not uploaded for this stop, or an upload past its limits",
                },
                "RouteEventIn",
                ("drivers",),
                replies={"202": "RouteEventOut"},
            )
        },
        "/v1/routes/{route_id}/proof-uploads": {
            "post": op(
                "A presigned S3 POST (`url` and form `fields`, 15 minutes) for a proof photo "
                "(10 KB to 5 MB) or signature (up to 512 KB): jpeg, png or webp, this key only; "
                "cite `key` in the delivered event's proof (`photo_key`, `signature_key`)",
                "driver",
                {
                    "201": "url, fields and key",
                    "400": "not JSON",
                    "401": "not this route's driver token (checked before the body is read)",
                    "404": "no such route, or the order is not on it",
                    "422": "invalid",
                },
                "ProofUploadIn",
                ("drivers",),
                replies={"201": "ProofUploadOut"},
            )
        },
    }


def add_schemas(schemas: dict[str, Any]) -> None:
    for model in (RouteEventIn, ProofUploadIn):
        add_model(schemas, model)
    add_reply(schemas, RouteEventOut, RouteOut, ProofUploadOut)
