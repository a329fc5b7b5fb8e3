"""The tracking page's map: Amazon Location Service tiles drawn by MapLibre GL JS, which we
serve ourselves (vendored under tracking/static, versioned names, cached for a year), and
what the map shows as GeoJSON; without tiles (locally, or no key yet) the page has its sketch."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any
from urllib.parse import quote, urlsplit

from chalicelib.tracking.whereabouts import Area, Point, VanPosition

MAPLIBRE = "maplibre-gl-4.7.1"  # npm maplibre-gl@4.7.1, its CSP build (no blob: workers)
STATIC_PATH = "static"
# name -> content type: nothing else under /static is served.
STATIC_FILES = {
    f"{MAPLIBRE}-csp.js": "text/javascript; charset=utf-8",
    f"{MAPLIBRE}-csp-worker.js": "text/javascript; charset=utf-8",
    f"{MAPLIBRE}.css": "text/css; charset=utf-8",
}
IMMUTABLE = "public, max-age=31536000, immutable"  # the version is in the name
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
CIRCLE_POINTS = 48


@dataclass(frozen=True)
class MapTiles:
    """Where the page's map style comes from, and the one origin its tiles are fetched from."""

    style_url: str
    origin: str

    @classmethod
    def amazon_location(
        cls, region: str, api_key: str, style: str = "Standard", endpoint: str | None = None
    ) -> MapTiles:
        """Amazon Location's Maps API (v2) style descriptor for `region` (GetStyleDescriptor,
        whose style carries the key on to its tiles), with the map API key (one restricted to
        map actions and the tracking site as referer). `endpoint` replaces the service's own
        (`AWS_ENDPOINT_URL_GEO_MAPS`, as the AWS SDKs read it: a stand-in that speaks it)."""
        if not _REGION.match(region):
            raise ValueError(f"not an AWS region: {region!r}")
        origin = _origin(endpoint) if endpoint else f"https://maps.geo.{region}.amazonaws.com"
        return cls(f"{origin}/v2/styles/{quote(style)}/descriptor?key={quote(api_key)}", origin)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ValueError(f"not an endpoint URL: {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def static_file(name: str) -> tuple[str, str] | None:
    """(content type, text) of a served static file, or None when `name` is not one."""
    kind = STATIC_FILES.get(name)
    if kind is None:
        return None
    return kind, (resources.files("chalicelib.tracking") / STATIC_PATH / name).read_text()


def _circle(area: Area) -> list[list[float]]:
    """The area as a ring of lng/lat points (GeoJSON polygons have no circles)."""
    lat_deg = area.radius_m / 111_320.0
    lng_deg = lat_deg / max(math.cos(math.radians(area.lat)), 0.01)
    ring = [
        [
            round(area.lng + lng_deg * math.cos(2 * math.pi * k / CIRCLE_POINTS), 6),
            round(area.lat + lat_deg * math.sin(2 * math.pi * k / CIRCLE_POINTS), 6),
        ]
        for k in range(CIRCLE_POINTS)
    ]
    return [*ring, ring[0]]


def features(
    area: Area | None,
    locker: Point | None,
    van: VanPosition | None,
    depot: Point | None,
    stops_before: int = 0,
) -> dict[str, Any]:
    """What the map draws, as a GeoJSON FeatureCollection (each feature's `kind` picks its
    layer): the area (or the locker), the stops before as points evenly between the van and
    the area (as the sketch draws them: not where they are, their places are other customers'),
    the van, the depot. Nothing finer than the page shows."""
    shown: list[dict[str, Any]] = []
    if area is not None:
        shown.append(_feature("area", {"type": "Polygon", "coordinates": [_circle(area)]}))
    if locker is not None:
        shown.append(_feature("locker", _point(locker.lat, locker.lng)))
    target = area or locker
    if van is not None and target is not None and stops_before > 0:
        for k in range(1, stops_before + 1):
            share = k / (stops_before + 1)
            lat = van.lat + (target.lat - van.lat) * share
            lng = van.lng + (target.lng - van.lng) * share
            shown.append(_feature("stop", _point(round(lat, 5), round(lng, 5))))
    if van is not None:
        shown.append(_feature("van", _point(van.lat, van.lng)))
    if depot is not None:
        shown.append(_feature("depot", _point(depot.lat, depot.lng)))
    return {"type": "FeatureCollection", "features": shown}


def _point(lat: float, lng: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lng, lat]}


def _feature(kind: str, geometry: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"kind": kind}, "geometry": geometry}
