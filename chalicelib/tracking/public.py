"""The public tracking view: status, ETA, timeline, first name and city, the locker's public
details and pickup deadline; never the pickup code or anything else of the customer's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.eta_windows import eta_window as told_window
from chalicelib.domain.order import DeliveryType, Order, TimelineEvent
from chalicelib.domain.tenancy import Merchant
from chalicelib.domain.times import iso_z, parse_iso
from chalicelib.tracking.story import destination, headline
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
) -> dict[str, Any]:
    """Only what a stranger holding the tracking code may see: no street, postcode, email,
    phone or last name, and no pickup code. `stops_before` is how many stops the van visits
    first, when known; `locker` the order's locker (its public view) when known, `pickup` its
    parcel waiting there; `choices` the lockers it may switch to, while it may (else None);
    `area` the stop's public area, `van` its van's rounded last position, `brand` the
    merchant's public face."""
    delivery: dict[str, Any] = {"type": str(order.delivery.type)}
    if order.delivery.type is DeliveryType.LOCKER and order.delivery.locker_id:
        shown = public_locker(locker or {}) or {"locker_id": order.delivery.locker_id}
        if pickup:
            shown |= {"pickup_by": pickup.by, "extended": pickup.extended}
        delivery["locker"] = shown
    if order.delivery.window:
        delivery["window"] = {
            "start": order.delivery.window.start,
            "end": order.delivery.window.end,
        }
    view: dict[str, Any] = {
        "status": str(order.status),
        "headline": headline(order, timeline),
        "destination": destination(order, locker),
        "events": [{"status": str(e.status), "at": e.at} for e in timeline],
        "first_name": order.customer.first_name,
        "city": order.address.city,
        "delivery": delivery,
    }
    if order.eta:
        view["eta"] = order.eta
        start, end = eta_window(order)
        view["eta_window"] = {"start": iso_z(start), "end": iso_z(end)}
    if stops_before is not None:
        view["stops_before"] = stops_before
    if area is not None:
        view["area"] = {"lat": area.lat, "lng": area.lng, "radius_m": area.radius_m}
    if van is not None:
        view["van"] = {"lat": van.lat, "lng": van.lng, "at": van.at}
    if brand is not None:
        view["merchant"] = brand.fields()
    if choices is not None:
        view["delivery_choices"] = {
            "lockers": [public_locker(choice) for choice in choices],
            "home": order.delivery.type is DeliveryType.LOCKER,
        }
    return view
