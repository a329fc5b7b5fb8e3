"""The public tracking view: status, ETA, timeline, first name and city, the locker's public
details and pickup deadline; never the pickup code or anything else of the customer's."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain.eta_windows import eta_window as told_window
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.order import DeliveryType, Order, TimelineEvent
from chalicelib.domain.tenancy import Merchant
from chalicelib.domain.times import iso_z, parse_iso
from chalicelib.tracking.story import destination, entries, headline
from chalicelib.tracking.whereabouts import Area, VanPosition

# What a stranger holding the tracking code may see of a locker: a public place. A choice's
# distance from the customer is left out: three of them would place the customer's home.
LOCKER_FIELDS = ("locker_id", "name", "address", "opening_hours", "lat", "lng")


@dataclass(frozen=True)
class Pickup:
    """A parcel waiting in a locker, as its customer may see it (never its code)."""

    by: str  # ISO 8601 UTC deadline
    extended: bool  # the one extension was used
    can_resend: bool  # a new code may still be asked for


@dataclass(frozen=True)
class PublicBrand:
    """The merchant as its customers see it: a name, a colour and a help link."""

    name: str
    colour: str | None = None
    help_url: str | None = None

    def fields(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if v is not None}


def public_brand(merchant: Merchant) -> PublicBrand:
    brand = merchant.brand
    return PublicBrand(brand.display_name or merchant.name, brand.colour, brand.help_url)


def public_locker(details: Mapping[str, Any]) -> dict[str, Any]:
    """A locker's public fields out of its public view or a choice (distance and room dropped)."""
    return {name: details[name] for name in LOCKER_FIELDS if details.get(name) is not None}


def eta_window(order: Order) -> tuple[datetime, datetime]:
    """The window shown around the order's ETA, in UTC: the one told with it (recorded then),
    or, for an ETA recorded without one, 30 minutes either side."""
    assert order.eta is not None, "a window is shown around an ETA"
    if order.eta_from and order.eta_to:
        start, end = order.eta_from, order.eta_to
    else:
        start, end = told_window(order.eta)
    return parse_iso(start).astimezone(UTC), parse_iso(end).astimezone(UTC)


class _Shown(BaseModel):
    """A part of the public answer: only the fields named here can reach a stranger."""

    model_config = ConfigDict(extra="forbid")


class PublicLocker(_Shown):
    locker_id: str | None = None
    name: str | None = None
    address: str | None = None
    opening_hours: str | None = None
    lat: float | None = None
    lng: float | None = None
    pickup_by: str | None = Field(default=None, description="the parcel waiting there: until")
    extended: bool | None = Field(default=None, description="its one extension was used")


class PublicWindow(_Shown):
    start: str
    end: str


class PublicDelivery(_Shown):
    type: Literal["home", "locker"]
    locker: PublicLocker | None = None
    window: PublicWindow | None = None


class PublicEvent(_Shown):
    status: OrderStatus
    at: str


class PublicTimelineEntry(_Shown):
    at: str = Field(description="when this status was first reached")
    status: OrderStatus
    headline: str = Field(description="what happened, in the customer's words")


class PublicArea(_Shown):
    lat: float
    lng: float
    radius_m: int = Field(ge=0)


class PublicVan(_Shown):
    lat: float
    lng: float
    at: str


class PublicMerchant(_Shown):
    name: str
    colour: str | None = None
    help_url: str | None = None


class PublicChoices(_Shown):
    lockers: list[PublicLocker]
    home: bool = Field(description="home delivery may be chosen back")


class PublicShipment(_Shown):
    tracking_code: str
    status: OrderStatus


class PublicProof(_Shown):
    handed_over: bool | None = Field(
        default=None, description="true: handed to someone at the door (not left)"
    )
    received_by: str | None = Field(
        default=None, description="the customer's first name, when it was they who took it"
    )
    safe_place: str | None = None
    photo_url: str | None = Field(default=None, json_schema_extra={"format": "uri"})


class PublicTracking(_Shown):
    """What a stranger holding the tracking code is answered (GET /track/{code}.json)."""

    status: OrderStatus
    headline: str
    destination: str
    events: list[PublicEvent] = Field(
        description="every timeline event, oldest first, repeats included (kept as it was)"
    )
    timeline: list[PublicTimelineEntry] = Field(
        description="what the page shows: oldest first, each status once (at its first "
        "moment), a failed attempt with its reason"
    )
    first_name: str
    city: str
    delivery: PublicDelivery
    eta: str | None = None
    eta_window: PublicWindow | None = None
    stops_before: int | None = Field(default=None, ge=0)
    area: PublicArea | None = Field(default=None, description="the stop's approximate area")
    van: PublicVan | None = Field(default=None, description="the van's rounded last position")
    merchant: PublicMerchant | None = None
    delivery_choices: PublicChoices | None = None
    shipments: list[PublicShipment] | None = Field(
        default=None, description="a split order: every shipment's tracking code and status"
    )
    proof: PublicProof | None = Field(default=None, description="a delivered order's")
    version: str = Field(
        description="changes whenever anything the tracking page shows changes (the page's "
        "script fetches the page again only then)",
    )


def public_view(
    order: Order,
    timeline: list[TimelineEvent],
    *,
    stops_before: int | None = None,
    locker: Mapping[str, Any] | None = None,
    pickup: Pickup | None = None,
    choices: Sequence[Mapping[str, Any]] | None = None,
    area: Area | None = None,
    van: VanPosition | None = None,
    brand: PublicBrand | None = None,
    shipments: Sequence[tuple[str, OrderStatus]] = (),
    proof: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Only what a stranger holding the tracking code may see: no street, postcode, email,
    phone or last name, and no pickup code. `stops_before` is how many stops the van visits
    first, when known; `locker` the order's locker (its public view) when known, `pickup` its
    parcel waiting there; `choices` the lockers it may switch to, while it may (else None);
    `area` the stop's public area, `van` its van's rounded last position, `brand` the
    merchant's public face, `shipments` a split order's (code and status), `proof` what its
    customer sees of a delivered order's proof. Shaped by PublicTracking, which the OpenAPI
    document shows."""
    shown: PublicLocker | None = None
    if order.delivery.type is DeliveryType.LOCKER and order.delivery.locker_id:
        shown = PublicLocker(
            **(public_locker(locker or {}) or {"locker_id": order.delivery.locker_id})
        )
        if pickup:
            shown = shown.model_copy(update={"pickup_by": pickup.by, "extended": pickup.extended})
    window = order.delivery.window
    eta_shown = None
    if order.eta:
        start, end = eta_window(order)
        eta_shown = PublicWindow(start=iso_z(start), end=iso_z(end))
    view = PublicTracking(
        status=order.status,
        headline=headline(order, timeline),
        destination=destination(order, locker),
        events=[PublicEvent(status=e.status, at=e.at) for e in timeline],
        timeline=[
            PublicTimelineEntry(at=e.at, status=e.status, headline=e.words)
            for e in entries(timeline)
        ],
        first_name=order.customer.first_name,
        city=order.address.city,
        delivery=PublicDelivery(
            type=str(order.delivery.type),  # type: ignore[arg-type]
            locker=shown,
            window=PublicWindow(start=window.start, end=window.end) if window else None,
        ),
        eta=order.eta or None,
        eta_window=eta_shown,
        stops_before=stops_before,
        area=PublicArea(lat=area.lat, lng=area.lng, radius_m=area.radius_m) if area else None,
        van=PublicVan(lat=van.lat, lng=van.lng, at=van.at) if van else None,
        merchant=PublicMerchant(**brand.fields()) if brand else None,
        delivery_choices=None
        if choices is None
        else PublicChoices(
            lockers=[PublicLocker(**public_locker(choice)) for choice in choices],
            home=order.delivery.type is DeliveryType.LOCKER,
        ),
        shipments=[PublicShipment(tracking_code=c, status=st) for c, st in shipments] or None,
        proof=PublicProof(**proof) if proof else None,
        version="",  # of what the rest shows: below
    )
    shown_view = view.model_dump(mode="json", exclude_none=True)
    return shown_view | {"version": version_of(shown_view)}


def version_of(view: Mapping[str, Any]) -> str:
    """A digest of what a view shows, the same for the same content: a proof photo's URL is
    presigned anew at every read, so only its presence counts."""
    steady = dict(view)
    if "proof" in steady and "photo_url" in steady["proof"]:
        steady["proof"] = steady["proof"] | {"photo_url": True}
    if "van" in steady:
        # Each ping moves the fix's time, but the page shows only the (rounded) position: a
        # van standing still asks no page of anyone.
        steady["van"] = {k: v for k, v in steady["van"].items() if k != "at"}
    steady.pop("version", None)
    text = json.dumps(steady, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
