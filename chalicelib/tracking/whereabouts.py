"""Where the page may say things are, coarsely enough to be public: the customer's stop as an
area (a grid cell's circle, never centred on the address), the van's last accepted fix rounded
to about a hundred metres (it may be standing at another customer's door), and the depot; and
the SVG sketch that draws them when no map tiles are available."""

from __future__ import annotations

import math
from dataclasses import dataclass

from chalicelib.domain.dispatch import PlannedRoute
from chalicelib.domain.geo import great_circle_m
from chalicelib.domain.order import Order

# The area is the circle around the centre of the grid cell the stop falls in: every address
# in a cell gets the same circle, so neither one order nor many to one address narrows it down
# below the cell. Cells are CELL_DEG of latitude by CELL_DEG / cos(latitude) of longitude
# (about 440 m square anywhere), the radius reaches the cell's corners.
CELL_DEG = 0.004
AREA_DECIMALS = 4  # the centre is a cell's centre: more decimals would add nothing true
VAN_DECIMALS = 3  # about 110 m of latitude


@dataclass(frozen=True)
class Area:
    """A circle the customer's stop lies in (its centre a grid cell's, not the address)."""

    lat: float
    lng: float
    radius_m: int


@dataclass(frozen=True)
class Point:
    lat: float
    lng: float


@dataclass(frozen=True)
class VanPosition:
    lat: float
    lng: float
    at: str


def _lng_cell(lat: float) -> float:
    return CELL_DEG / max(math.cos(math.radians(lat)), 0.01)


def approximate_area(lat: float, lng: float) -> Area:
    """The public area of a stop at (lat, lng): its grid cell's centre and a radius that holds
    the whole cell (so the stop is inside, anywhere in it)."""
    row = math.floor(lat / CELL_DEG)
    centre_lat = (row + 0.5) * CELL_DEG
    width = _lng_cell(centre_lat)
    centre_lng = (math.floor(lng / width) + 0.5) * width
    corner = great_circle_m(
        centre_lat, centre_lng, centre_lat + CELL_DEG / 2, centre_lng + width / 2
    )
    return Area(
        round(centre_lat, AREA_DECIMALS),
        round(centre_lng, AREA_DECIMALS),
        int(math.ceil(corner / 50.0) * 50),  # a round figure of metres
    )


def van_position(route: PlannedRoute | None) -> VanPosition | None:
    """The route's last accepted fix, rounded (None before the first)."""
    fix = route.last_fix if route is not None else None
    if fix is None:
        return None
    return VanPosition(round(fix.lat, VAN_DECIMALS), round(fix.lng, VAN_DECIMALS), fix.at)


# -- the sketch --------------------------------------------------------------------------------

WIDTH, HEIGHT, PAD = 320.0, 200.0, 28.0
MIN_AREA_PX = 14.0


@dataclass(frozen=True)
class Sketch:
    """The SVG sketch's geometry in its own pixels (viewBox 0 0 WIDTH HEIGHT)."""

    area: tuple[float, float, float] | None  # cx, cy, r
    van: tuple[float, float] | None
    depot: tuple[float, float] | None
    stops: tuple[tuple[float, float], ...]  # the stops before, evenly between van and area

    @property
    def width(self) -> int:
        return int(WIDTH)

    @property
    def height(self) -> int:
        return int(HEIGHT)


def sketch(
    area: Area | Point | None,
    van: VanPosition | None,
    depot: Point | None,
    stops_before: int | None,
    *,
    max_stops: int = 12,
) -> Sketch | None:
    """Depot, van, the stops before and the area, projected to fit the sketch (north up); the
    stops before are drawn as dots between the van and the area, not where they are (their
    places are other customers')."""
    points = [(p.lat, p.lng) for p in (area, van, depot) if p is not None]
    if not points:
        return None
    mid_lat = sum(lat for lat, _ in points) / len(points)
    scale_x = math.cos(math.radians(mid_lat))
    xs = [lng * scale_x for _, lng in points]
    ys = [lat for lat, _ in points]
    radius_deg = (area.radius_m / 111_320.0) if isinstance(area, Area) else 0.0
    span = max(max(xs) - min(xs), max(ys) - min(ys), radius_deg * 4, 0.002)
    px = min((WIDTH - 2 * PAD) / span, (HEIGHT - 2 * PAD) / span)
    cx0, cy0 = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2

    def place(lat: float, lng: float) -> tuple[float, float]:
        return (
            round(WIDTH / 2 + (lng * scale_x - cx0) * px, 1),
            round(HEIGHT / 2 - (lat - cy0) * px, 1),
        )

    drawn_area = None
    if area is not None:
        x, y = place(area.lat, area.lng)
        drawn_area = (x, y, round(max(radius_deg * px, MIN_AREA_PX), 1))
    drawn_van = place(van.lat, van.lng) if van is not None else None
    dots: list[tuple[float, float]] = []
    if drawn_van and drawn_area and stops_before:
        count = min(stops_before, max_stops)
        (vx, vy), (ax, ay, _) = drawn_van, drawn_area
        dots = [
            (round(vx + (ax - vx) * k / (count + 1), 1), round(vy + (ay - vy) * k / (count + 1), 1))
            for k in range(1, count + 1)
        ]
    return Sketch(
        drawn_area,
        drawn_van,
        place(depot.lat, depot.lng) if depot is not None else None,
        tuple(dots),
    )


def courier_position(order: Order) -> VanPosition | None:
    """A partner carrier's courier on the way with the order, where its last webhook placed
    it, rounded as a van's fix is (None when it sent none)."""
    carrier = order.carrier
    if carrier is None or carrier.courier_lat is None or carrier.courier_lng is None:
        return None
    at = carrier.courier_at or order.updated_at
    return VanPosition(
        round(carrier.courier_lat, VAN_DECIMALS), round(carrier.courier_lng, VAN_DECIMALS), at
    )
