"""The public tracking page: a parcel's progress as server-rendered HTML for the customer, with
nothing but first name and city of them, and nothing loaded from anywhere else; its forms post
back here (a rating, another day, a locker instead, a new pickup code, more time)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, tzinfo
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib.domain.dispatch import PlannedRoute
from chalicelib.domain.errors import LockerNotFound
from chalicelib.domain.lifecycle import TERMINAL, OrderStatus
from chalicelib.domain.lockers import MAX_RESENDS, Locker, LockerParcel
from chalicelib.domain.order import DeliveryType, Order, TimelineEvent
from chalicelib.domain.tenancy import Merchant
from chalicelib.html_headers import content_security_policy, hash_source, html_headers
from chalicelib.tracking.feedback import (
    MAX_COMMENT,
    RATINGS,
    Feedback,
    can_rate,
    can_reschedule,
    offered_days,
)
from chalicelib.tracking.live_eta import ON_ITS_WAY, with_route_eta
from chalicelib.tracking.map_tiles import MAPLIBRE, STATIC_PATH, MapTiles, features
from chalicelib.tracking.public import (
    Pickup,
    PublicBrand,
    eta_window,
    public_brand,
    public_locker,
    public_view,
)
from chalicelib.tracking.story import STATUS_WORDS, destination, entries, headline
from chalicelib.tracking.whereabouts import (
    Area,
    Point,
    VanPosition,
    approximate_area,
    courier_position,
    sketch,
    van_position,
)

if TYPE_CHECKING:
    from jinja2 import Environment

S = OrderStatus

SHOWS_ETA = ON_ITS_WAY
MAX_DOTS = 12
PROOF_FIELDS = {"handed_over": None, "received_by": None, "safe_place": None, "photo_url": None}
REFRESH_S = 10  # how often the page's script asks for the status again
# What the page's requests tell other sites of where they come from: the origin only. Amazon
# Location's map key accepts only requests referred by the tracking site, so "no-referrer"
# would leave the map undrawn; the path (the tracking code) never leaves this site.
REFERRER = "strict-origin"
HOME = "home"  # the locker form's value for "deliver to my address instead"
LOCKER_FULL = "locker_full"  # a dispatch run's reason for leaving a locker order out


class OrderLookup(Protocol):
    def by_tracking_code(self, code: str) -> tuple[Order, list[TimelineEvent]]: ...


class RouteLookup(Protocol):
    def get_route(self, route_id: str) -> PlannedRoute | None: ...


class LockerLookup(Protocol):
    """What the page asks of the customer's locker choices (`bootstrap.locker_choices()`)."""

    def locker(self, locker_id: str) -> Locker: ...

    def held_parcel(self, order: Order) -> LockerParcel | None: ...

    def choices(self, order: Order) -> list[dict[str, Any]]: ...

    def can_choose(self, order: Order) -> bool: ...


@dataclass(frozen=True)
class Tracking:
    """An order as its tracking code shows it, with its place in the van's queue if known, its
    locker's public details, its parcel waiting there, and the lockers it may switch to while
    it may (None when it may not)."""

    order: Order
    timeline: list[TimelineEvent]
    stops_before: int | None = None
    locker: dict[str, Any] | None = None
    pickup: Pickup | None = None
    choices: tuple[dict[str, Any], ...] | None = None
    # Of a delivered order's proof, what its customer sees: who received it (first name), the
    # photo (a presigned URL) and the safe place; never the GPS fix or the signature.
    proof: dict[str, Any] | None = None
    # A split order's shipments (this one included), in order: tracking code and status only.
    shipments: tuple[tuple[str, OrderStatus], ...] = ()
    van: VanPosition | None = None
    depot: Point | None = None
    brand: PublicBrand | None = None

    @property
    def area(self) -> Area | None:
        """The customer's stop as a public area (home deliveries with coordinates only)."""
        address = self.order.address
        if self.order.delivery.type is DeliveryType.LOCKER or not address.has_coordinates:
            return None
        assert address.lat is not None and address.lng is not None
        return approximate_area(address.lat, address.lng)

    def public(self) -> dict[str, Any]:
        """The JSON twin of the page."""
        return public_view(
            self.order,
            self.timeline,
            stops_before=self.stops_before,
            locker=self.locker,
            pickup=self.pickup,
            choices=self.choices,
            area=self.area,
            van=self.van,
            brand=self.brand,
            shipments=self.shipments,
            proof=self.proof,
        )


def stops_before(route: PlannedRoute, order_id: str) -> int | None:
    """How many stops still pending come before this order's stop; None when the order is not
    (or no longer) waiting on this route."""
    for index, stop in enumerate(route.stops):
        if stop.order_id == order_id:
            if stop.state != "pending":
                return None
            return sum(1 for earlier in route.stops[:index] if earlier.state == "pending")
    return None


def find(
    code: str, orders: OrderLookup, routes: RouteLookup, lockers: LockerLookup | None = None
) -> Tracking:
    """The order behind a tracking code (OrderNotFound if none), with the stops before it
    while it is out for delivery, and, given `lockers`, what the page shows of lockers."""
    order, timeline = orders.by_tracking_code(code)
    before = None
    van = depot = None
    if order.status in SHOWS_ETA and order.route_id:
        # The route's live ETA, the one story every reader of this order tells.
        route = routes.get_route(order.route_id)
        order = with_route_eta(order, route)
        if route is not None:
            depot = Point(route.depot_lat, route.depot_lng)
        if order.status is OrderStatus.OUT_FOR_DELIVERY and route is not None:
            before = stops_before(route, order.order_id)
            van = van_position(route) if before is not None else None
    if order.status is OrderStatus.OUT_FOR_DELIVERY and order.carrier is not None:
        van = courier_position(order)  # a partner carrier's courier shows where a van would
    found = Tracking(order, timeline, before, van=van, depot=depot)
    return with_lockers(found, lockers) if lockers is not None else found


class ShipmentLookup(Protocol):
    def shipments(self, order: Order) -> list[Order]: ...


def with_shipments(found: Tracking, orders: ShipmentLookup) -> Tracking:
    """The tracking with every shipment of its split order (their codes and statuses; never
    where they go: each is the same customer's, but a code is all a stranger needs)."""
    if not found.order.shipments:
        return found
    listed = tuple((o.tracking_code, o.status) for o in orders.shipments(found.order))
    return replace(found, shipments=listed)


def _locker_details(lockers: LockerLookup, locker_id: str) -> dict[str, Any] | None:
    try:
        return lockers.locker(locker_id).public()
    except LockerNotFound:
        return None  # an id the storefront sent that names no locker: the page shows the id


def with_lockers(found: Tracking, lockers: LockerLookup) -> Tracking:
    """The tracking with its locker's public details, the parcel waiting there (its deadline,
    never its code) and the lockers offered instead while where it goes may change."""
    order = found.order
    locker: dict[str, Any] | None = None
    pickup: Pickup | None = None
    if order.delivery.type is DeliveryType.LOCKER and order.delivery.locker_id:
        locker = _locker_details(lockers, order.delivery.locker_id)
        held = lockers.held_parcel(order)
        if held is not None:
            pickup = Pickup(held.pickup_by, held.extended, held.resends < MAX_RESENDS)
    choices: tuple[dict[str, Any], ...] | None = None
    if lockers.can_choose(order):
        choices = tuple(public_locker(choice) for choice in lockers.choices(order))
    return replace(found, locker=locker, pickup=pickup, choices=choices)


def with_merchant(found: Tracking, merchant: Merchant | None) -> Tracking:
    """The tracking with the merchant's public brand (its name when it set none)."""
    return replace(found, brand=public_brand(merchant) if merchant is not None else None)


def page_url(base_url: str, tracking_code: str) -> str:
    return f"{base_url.rstrip('/')}/track/{tracking_code}"


def qr_data_uri(url: str) -> str:
    """The URL as a QR code, an SVG data URI (printed labels scan back to this page)."""
    import segno  # here, not at import: the API's other routes never draw one

    return str(segno.make(url, error="m", micro=False).svg_data_uri(scale=4, border=2))


# -- rendering ---------------------------------------------------------------------------------


@cache
def _environment() -> Environment:
    # Imported here, not at import: only the tracking page renders, and only once per container.
    from jinja2 import Environment, PackageLoader, StrictUndefined

    environment = Environment(
        loader=PackageLoader("chalicelib.tracking", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["referrer"] = REFERRER  # the <meta> says what the header says
    return environment


@cache
def stylesheet() -> str:
    return _asset("style.css")


@cache
def refresh_script() -> str:
    """The page's one script: it polls the JSON twin and, when what the page shows changed,
    swaps in the page's fresh server-rendered regions and moves the map (the page works
    without it; its policy allows it by hash, nothing else)."""
    return _asset("refresh.js")


def _asset(name: str) -> str:
    return (resources.files("chalicelib.tracking") / "templates" / name).read_text()


def brand_style(brand: PublicBrand | None) -> str | None:
    """The merchant's colour as the page's one extra style (allowed by its own hash); the
    colour is validated `#rrggbb` when set, so nothing else can get into it."""
    if brand is None or not brand.colour:
        return None
    return ":root{--brand:" + brand.colour + "}"


@cache
def headers(
    extra_style: str | None = None,
    tiles_origin: str | None = None,
    image_origin: str | None = None,
) -> dict[str, str]:
    """Every tracking page's headers: no caching, no sniffing, the origin alone as referrer
    (the map key's fence; never the path with the tracking code), and a policy that
    lets the page load nothing but its own inline stylesheet (and the brand's colour), data:
    images and its refresh script (each by hash), fetch only its JSON twin, and post its forms
    (rating, another day) nowhere but back to this site. With map tiles: MapLibre from this
    site (its script, stylesheet and worker) and the tiles' one origin besides; on a page
    showing a proof photo, images from the photo's store (`image_origin`)."""
    styles = " ".join(hash_source(css) for css in (stylesheet(), extra_style) if css)
    scripts = hash_source(refresh_script())
    images, connect = "'self' data:", "'self'"
    worker: dict[str, str] = {}
    if tiles_origin:
        styles, scripts = f"'self' {styles}", f"'self' {scripts}"
        images, connect = f"'self' data: blob: {tiles_origin}", f"'self' {tiles_origin}"
        worker = {"worker-src": "'self'"}
    if image_origin:
        images += f" {image_origin}"
    allowed = {
        "img-src": images,
        "style-src": styles,
        "script-src": scripts,
        "connect-src": connect,
        **worker,
    }
    return html_headers(content_security_policy(allowed), referrer=REFERRER)


def page_headers(
    tracking: Tracking, tiles: MapTiles | None = None, photos: str | None = None
) -> dict[str, str]:
    """The headers of one order's page: its brand's colour allowed, the stage's map tiles, and
    the proof photos' store (`photos`, its origin) while a proof may still come or when it
    shows one. The page's script swaps in what changed without a reload, so its policy allows
    what the page may come to show (a map once the parcel is on a route, the photo once it is
    delivered), not only what it shows now."""
    photo = (tracking.proof or {}).get("photo_url")
    if photo:
        images: str | None = _origin(photo)
    else:
        images = photos if tracking.order.status not in TERMINAL else None
    return headers(brand_style(tracking.brand), tiles.origin if tiles else None, images)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def zone(name: str | None) -> tuple[tzinfo, str]:
    """The depot's zone and its label; UTC when unknown (and the page then says UTC)."""
    if not name:
        return UTC, "UTC"
    try:
        return ZoneInfo(name), name
    except (ZoneInfoNotFoundError, ValueError):
        return UTC, "UTC"  # a zone this runtime does not know: UTC, and the page says so


def _local(iso: str, zone: tzinfo) -> datetime:
    moment = datetime.fromisoformat(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone)


def _day(moment: date) -> str:
    return f"{moment:%a} {moment.day} {moment:%b}"


def _locker(tracking: Tracking, here: tzinfo) -> dict[str, Any] | None:
    """The order's locker as the page shows it, with the pickup deadline in local time and
    which of "a new code" and "more time" are still offered."""
    order = tracking.order
    if order.delivery.type is not DeliveryType.LOCKER or not order.delivery.locker_id:
        return None
    shown: dict[str, Any] = {
        "locker_id": order.delivery.locker_id,
        "name": None,
        "address": None,
        "opening_hours": None,
        "pickup": None,
    } | public_locker(tracking.locker or {})
    if tracking.pickup:
        by = _local(tracking.pickup.by, here)
        shown["pickup"] = {
            "day": _day(by),
            "time": f"{by:%H:%M}",
            "can_resend": tracking.pickup.can_resend,
            "can_extend": not tracking.pickup.extended,
        }
    return shown


def _choice(tracking: Tracking) -> dict[str, Any] | None:
    """The lockers offered instead (and home, for a locker delivery) while they may be chosen,
    with the moment that makes it matter: the chosen locker was full, or we missed them."""
    order = tracking.order
    if tracking.choices is None:
        return None
    home = order.delivery.type is DeliveryType.LOCKER
    if not tracking.choices and not home:
        return None
    moment = None
    if home and order.unassigned_reason == LOCKER_FULL:
        moment = "locker_full"
    elif can_reschedule(order, tracking.timeline):
        moment = "failed"
    lockers = [
        {
            "locker_id": option["locker_id"],
            "name": option.get("name") or option["locker_id"],
            "address": option.get("address"),
            "opening_hours": option.get("opening_hours"),
        }
        for option in tracking.choices
    ]
    return {"lockers": lockers, "home": home, "home_value": HOME, "moment": moment}


def _window(order: Order, here: tzinfo) -> dict[str, str] | None:
    if not order.delivery.window:
        return None
    start = _local(order.delivery.window.start, here)
    end = _local(order.delivery.window.end, here)
    return {"day": _day(start), "start": f"{start:%H:%M}", "end": f"{end:%H:%M}"}


def _sketch(tracking: Tracking, before: int | None) -> dict[str, Any] | None:
    """The SVG sketch's geometry and words, once the parcel is on a route (a lone circle says
    nothing): the depot, the area or the locker, and the van once it is out."""
    if tracking.van is None and tracking.depot is None:
        return None
    target: Area | Point | None = tracking.area
    if target is None and tracking.locker and "lat" in tracking.locker:
        target = Point(float(tracking.locker["lat"]), float(tracking.locker["lng"]))
    if target is None:
        return None
    drawn = sketch(target, tracking.van, tracking.depot, before, max_stops=MAX_DOTS)
    if drawn is None:
        return None
    if tracking.van is None:
        said = "Where your parcel is going: " + (
            "your area, shown approximately" if tracking.area else "the locker"
        )
    else:
        stops = "no stops" if not before else f"{before} {'stop' if before == 1 else 'stops'}"
        said = f"The van's last position, {stops} before yours, and your area (approximate)"
    return {"shape": drawn, "words": said, "is_locker": tracking.area is None, "target": target}


def _map(tiles: MapTiles | None) -> dict[str, str] | None:
    """Where the page's script finds the map's style and MapLibre, on a stage with tiles (None:
    the sketch only). The map's box is on every page of such a stage, outside what the script
    swaps, so one map lives through every refresh; it draws once there is something to show."""
    if tiles is None:
        return None
    assets = f"../{STATIC_PATH}/{MAPLIBRE}"
    return {
        "style": tiles.style_url,
        "script": f"{assets}-csp.js",
        "worker": f"{assets}-csp-worker.js",
        "css": f"{assets}.css",
    }


def _drawn(tracking: Tracking, sketched: dict[str, Any]) -> dict[str, Any]:
    """What the map draws of a sketch, as GeoJSON: the same places, the stops before (as many
    as the sketch's dots) and where to centre it."""
    target = sketched["target"]
    area = target if isinstance(target, Area) else None
    locker = None if area is not None else target
    dots = len(sketched["shape"].stops)
    return {
        "features": features(area, locker, tracking.van, tracking.depot, dots),
        "centre": [target.lng, target.lat],
    }


def page_context(
    tracking: Tracking,
    *,
    base_url: str,
    timezone: str | None,
    feedback: Feedback | None = None,
    now: datetime | None = None,
    tiles: MapTiles | None = None,
) -> dict[str, Any]:
    """What the template shows, already in words and local times; nothing private in it.
    `feedback` is the customer's rating if given; `now` dates the days offered after a failed
    attempt; `tiles` are the map's, when the stage has them (else the sketch alone)."""
    order = tracking.order
    here, zone_label = zone(timezone)
    eta = None
    if order.eta and order.status in SHOWS_ETA:
        start, end = (m.astimezone(here) for m in eta_window(order))
        eta = {"day": _day(start), "start": f"{start:%H:%M}", "end": f"{end:%H:%M}"}
    events = []
    for entry in entries(tracking.timeline):
        at = _local(entry.at, here)
        events.append(
            {"words": entry.words, "day": _day(at)}
            | {"time": f"{at:%H:%M}", "status": str(entry.status)}
        )
    url = page_url(base_url, order.tracking_code)
    before = tracking.stops_before
    brand = tracking.brand
    sketched = _sketch(tracking, before)
    if sketched is not None and tiles is not None:
        sketched |= _drawn(tracking, sketched)
    return {
        "first_name": order.customer.first_name,
        "city": order.address.city,
        "destination": destination(order, tracking.locker),
        "status": str(order.status),
        "status_words": headline(order, tracking.timeline),
        "brand": vars(brand) if brand is not None else None,
        "brand_css": brand_style(brand),
        "sketch": sketched,
        "map": _map(tiles),
        "live": {
            "source": f"../v1/track/{order.tracking_code}",
            "every": REFRESH_S,
            # The twin says the same version while the page would show the same; a final
            # status has nothing more to wait for (a split order's: every shipment's, which
            # the page lists too).
            "version": tracking.public()["version"],
            "final": order.status in TERMINAL
            and all(status in TERMINAL for _, status in tracking.shipments),
        },
        "script": refresh_script(),
        "eta": eta,
        "stops_before": before,
        "dots": min(before, MAX_DOTS) if before is not None else 0,
        "more_dots": max(0, before - MAX_DOTS) if before is not None else 0,
        "events": list(reversed(events)),  # newest first
        "locker": _locker(tracking, here),
        "choice": _choice(tracking),
        "zone_label": zone_label,
        "rating": (
            {"given": feedback.rating if feedback else None, "options": list(RATINGS)}
            if can_rate(order)
            else None
        ),
        "max_comment": MAX_COMMENT,
        "reschedule": (
            {
                "days": [
                    {"value": day.isoformat(), "label": _day(day)}
                    for day in offered_days(now or datetime.now(UTC), here)
                ],
                "chosen": _window(order, here),
            }
            if can_reschedule(order, tracking.timeline)
            else None
        ),
        "shipments": [
            {
                "tracking_code": code,
                "words": STATUS_WORDS.get(status, str(status)),
                "this": code == order.tracking_code,
            }
            for code, status in tracking.shipments
        ],
        "tracking_code": order.tracking_code,
        # Each field the proof block asks for, present or None (a safe place without a photo
        # would otherwise fail the strict template: a 500 for a plain "left at the porch").
        "proof": PROOF_FIELDS | tracking.proof if tracking.proof else None,
        "qr": qr_data_uri(url),
        "css": stylesheet(),
    }


def render_page(
    tracking: Tracking,
    *,
    base_url: str,
    timezone: str | None = None,
    feedback: Feedback | None = None,
    now: datetime | None = None,
    tiles: MapTiles | None = None,
) -> str:
    """The tracking page of an order; times in `timezone` (the depot's), else in UTC; a map
    over the sketch when `tiles` are given."""
    context = page_context(
        tracking, base_url=base_url, timezone=timezone, feedback=feedback, now=now, tiles=tiles
    )
    return _environment().get_template("page.html.j2").render(context)


def render_not_found() -> str:
    return _environment().get_template("not_found.html.j2").render(css=stylesheet())


def render_rate_limited(retry_after: int) -> str:
    return (
        _environment()
        .get_template("rate_limited.html.j2")
        .render(css=stylesheet(), retry_after=retry_after)
    )


def render_message(
    title: str, text: str, *, back: str | None = None, pay: dict[str, str] | None = None
) -> str:
    """A short page answering a form (already rated, a bad day chosen), with a link back."""
    return (
        _environment()
        .get_template("message.html.j2")
        .render(css=stylesheet(), title=title, text=text, back=back, pay=pay)
    )
