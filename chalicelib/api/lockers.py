"""Lockers: operators create and watch them (admin key), storefronts find one near a customer
(merchant key), and each locker's kiosk deposits and hands out parcels (its kiosk key as Bearer;
a route's driver token may deposit and retrieve its own route's parcels)."""

from __future__ import annotations

import re
from typing import Any, Literal

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field, model_validator

from chalicelib import bootstrap
from chalicelib.api.http import bearer, json_response, parse_body, route
from chalicelib.api.locker_replies import Deposit, LockerView, NearbyLockers, Pickup, Retrieval
from chalicelib.api.replies import LockerCreated
from chalicelib.domain.errors import (
    AuthenticationFailed,
    InvalidCursor,
    MalformedBody,
    ValidationFailed,
)
from chalicelib.domain.lockers import (
    CODE_DIGITS,
    DAYS,
    SIZES,
    LockerAddress,
    OpeningHours,
    parcel_sizes,
)
from chalicelib.lockers.admin import NewLocker
from chalicelib.request_bodies import Id

lockers_api = Blueprint(__name__)

CLOCK = re.compile(r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CompartmentIn(_In):
    compartment_id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,32}$")
    size: Literal["S", "M", "L"]


class AddressIn(_In):
    line1: str = Field(min_length=1, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    postcode: str = Field(min_length=1, max_length=20)


class HoursIn(_In):
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        min_length=1, max_length=7
    )
    open: str
    close: str

    @model_validator(mode="after")
    def _times(self) -> HoursIn:
        for name in ("open", "close"):
            if not CLOCK.match(getattr(self, name)):
                raise ValueError(f"{name}: a time of day HH:MM (close may be 24:00)")
        if self.close <= self.open:
            raise ValueError("close: must be after open")
        return self


class LockerIn(_In):
    locker_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    name: str = Field(min_length=1, max_length=120)
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)
    depot_id: Id
    compartments: list[CompartmentIn] = Field(min_length=1, max_length=99)
    address: AddressIn | None = None
    opening_hours: list[HoursIn] | None = Field(default=None, max_length=7)
    holding_hours: int = Field(default=72, ge=1, le=24 * 14)

    @model_validator(mode="after")
    def _not_home(self) -> LockerIn:
        # "home" is the tracking page's word for the customer's own address, never a locker.
        if self.locker_id == "home":
            raise ValueError("locker_id: 'home' is reserved")
        return self

    def to_new(self) -> NewLocker:
        hours = (
            tuple(
                OpeningHours(tuple(d for d in DAYS if d in h.days), h.open, h.close)
                for h in self.opening_hours
            )
            if self.opening_hours
            else None
        )
        return NewLocker(
            name=self.name,
            lat=self.lat,
            lng=self.lng,
            depot_id=self.depot_id,
            compartments=[(c.compartment_id, c.size) for c in self.compartments],
            locker_id=self.locker_id,
            address=LockerAddress(**self.address.model_dump()) if self.address else None,
            opening_hours=hours,
            holding_hours=self.holding_hours,
        )


class OrderRefIn(_In):
    order_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")


class PickupIn(_In):
    code: str = Field(pattern=rf"^[0-9]{{{CODE_DIGITS}}}$")


@route(lockers_api, "/v1/lockers", methods=["POST"])
def create_locker() -> Any:
    bootstrap.accounts().authenticate_admin(bearer(lockers_api.current_request))
    body = parse_body(lockers_api.current_request, LockerIn)
    locker, kiosk_key = bootstrap.locker_admin().create(body.to_new())
    created = LockerCreated(locker_id=locker.locker_id, kiosk_key=kiosk_key)
    return json_response(created.body(), status=201)


@route(lockers_api, "/v1/lockers/{locker_id}", methods=["GET"])
def get_locker(locker_id: str) -> Any:
    bootstrap.accounts().authenticate_admin(bearer(lockers_api.current_request))
    return json_response(LockerView.of(bootstrap.locker_admin().view(locker_id)).body())


@route(lockers_api, "/v1/lockers", methods=["GET"])
def find_lockers() -> Any:
    """For checkouts: the lockers nearest a point with room for the parcels' sizes. A merchant
    sees its depot's lockers; an operator names the depot."""
    request = lockers_api.current_request
    params = dict(request.query_params or {})
    key = bearer(request)
    try:
        bootstrap.accounts().authenticate_admin(key)
        depot_id = params.get("depot_id")
        if not depot_id:
            raise ValidationFailed("depot_id: required with the operator key", field="depot_id")
    except AuthenticationFailed:
        depot_id = bootstrap.accounts().authenticate_merchant(key).depot_id
    lat, lng = _point(params.get("near"))
    sizes: list[str | None] = [
        s for s in (params.get("sizes") or params.get("size") or "").split(",") if s
    ]
    for size in sizes:
        if str(size).upper() not in SIZES:
            raise ValidationFailed(f"size: {size!r} is not one of S, M, L", field="size")
    if params.get("cursor") is not None:
        # A ranking of the nearest few, not a stored list: there is no position to go on from.
        raise InvalidCursor("the nearest lockers are one page; it takes no cursor", field="cursor")
    found = bootstrap.locker_directory().near(lat, lng, depot_id, parcel_sizes(sizes or [None]))
    # `items` and `next_cursor` as every list answers; `lockers`, the key it answered with first.
    return json_response(NearbyLockers.of(found).body())


def _point(near: str | None) -> tuple[float, float]:
    try:
        lat_text, lng_text = (near or "").split(",")
        lat, lng = float(lat_text), float(lng_text)
    except ValueError as exc:
        raise MalformedBody("near: give it as lat,lng (e.g. near=51.50,-0.08)") from exc
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise ValidationFailed("near: latitude or longitude out of range", field="near")
    return lat, lng


# The kiosk's routes check who calls before they read the body: a wrong kiosk key is 401
# whatever it sent. A driver token is checked against the route of the order the body names.


@route(lockers_api, "/v1/lockers/{locker_id}/deposits", methods=["POST"])
def deposit(locker_id: str) -> Any:
    credential = bearer(lockers_api.current_request)
    kiosk = bootstrap.locker_kiosk()
    kiosk.check_caller(locker_id, credential)
    body = parse_body(lockers_api.current_request, OrderRefIn)
    deposited = Deposit.of(kiosk.deposit(locker_id, credential, body.order_id))
    return json_response(deposited.body(), status=201)


@route(lockers_api, "/v1/lockers/{locker_id}/pickups", methods=["POST"])
def pickup(locker_id: str) -> Any:
    kiosk = bootstrap.locker_kiosk()
    locker = kiosk.authenticate_kiosk(locker_id, bearer(lockers_api.current_request))
    body = parse_body(lockers_api.current_request, PickupIn)
    return json_response(Pickup.of(kiosk.pickup_at(locker, body.code)).body())


@route(lockers_api, "/v1/lockers/{locker_id}/retrievals", methods=["POST"])
def retrieve(locker_id: str) -> Any:
    """A driver takes an uncollected parcel back (planned by dispatch after it expired)."""
    credential = bearer(lockers_api.current_request)
    kiosk = bootstrap.locker_kiosk()
    kiosk.check_caller(locker_id, credential)
    body = parse_body(lockers_api.current_request, OrderRefIn)
    return json_response(Retrieval.of(kiosk.retrieve(locker_id, credential, body.order_id)).body())
