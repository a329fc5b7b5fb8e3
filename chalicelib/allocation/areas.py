"""Where a depot delivers: a radius around it, or a GeoJSON Polygon/MultiPolygon. Point in
polygon by ray casting on longitude/latitude (pure Python: shapely would bring numpy into the
API Lambda); an area is small enough that treating degrees as a plane is what GeoJSON means."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.geo import great_circle_m

# A depot with no area set serves this far around itself: a van's last mile, not a country
# (an order 530 km away is no longer accepted by a London depot and left out of every run).
DEFAULT_RADIUS_KM = 50.0

Ring = Sequence[Sequence[float]]  # [[lng, lat], ...], first == last (GeoJSON's order)
Polygon = Sequence[Ring]  # the outer ring, then its holes


@dataclass(frozen=True)
class ServiceArea:
    """A radius in km around the depot, or polygons (each an outer ring and its holes)."""

    radius_km: float | None = None
    polygons: tuple[Polygon, ...] = ()

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ServiceArea:
        """The area as stored (`{radius_km}` or `{geojson: {type, coordinates}}`); none: the
        default radius."""
        if not data:
            return cls(radius_km=DEFAULT_RADIUS_KM)
        if data.get("radius_km") is not None:
            return cls(radius_km=float(data["radius_km"]))
        shape = data["geojson"]
        coordinates = shape["coordinates"]
        polygons = [coordinates] if shape["type"] == "Polygon" else coordinates
        return cls(polygons=tuple(_floats(p) for p in polygons))

    def covers(self, depot_lat: float, depot_lng: float, lat: float, lng: float) -> bool:
        if self.radius_km is not None:
            return great_circle_m(depot_lat, depot_lng, lat, lng) <= self.radius_km * 1000
        return any(in_polygon(polygon, lng, lat) for polygon in self.polygons)


def _floats(polygon: Any) -> Polygon:
    # The store gives numbers back as Decimal; the arithmetic below wants floats.
    return tuple(tuple((float(x), float(y)) for x, y, *_ in ring) for ring in polygon)


def in_polygon(polygon: Polygon, x: float, y: float) -> bool:
    """Inside the outer ring and in none of its holes. A point on an edge counts as inside
    (an address on the boundary street is served, not refused)."""
    outer, *holes = polygon
    if not _in_ring(outer, x, y):
        return False
    return not any(_in_ring(hole, x, y) and not _on_edge(hole, x, y) for hole in holes)


def _in_ring(ring: Ring, x: float, y: float) -> bool:
    if _on_edge(ring, x, y):
        return True
    inside = False
    count = len(ring)
    for index in range(count - 1 if _closed(ring) else count):
        x1, y1 = ring[index][0], ring[index][1]
        x2, y2 = ring[(index + 1) % count][0], ring[(index + 1) % count][1]
        # Half-open in y, so a ray through a vertex is counted once.
        if (y1 > y) != (y2 > y):
            crossing = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            if x < crossing:
                inside = not inside
    return inside


def _on_edge(ring: Ring, x: float, y: float, tolerance: float = 1e-12) -> bool:
    count = len(ring)
    for index in range(count - 1 if _closed(ring) else count):
        x1, y1 = ring[index][0], ring[index][1]
        x2, y2 = ring[(index + 1) % count][0], ring[(index + 1) % count][1]
        cross = (x - x1) * (y2 - y1) - (y - y1) * (x2 - x1)
        if abs(cross) > tolerance * max(1.0, abs(x2 - x1) + abs(y2 - y1)):
            continue
        if min(x1, x2) - tolerance <= x <= max(x1, x2) + tolerance and (
            min(y1, y2) - tolerance <= y <= max(y1, y2) + tolerance
        ):
            return True
    return False


def _closed(ring: Ring) -> bool:
    return len(ring) > 1 and tuple(ring[0][:2]) == tuple(ring[-1][:2])
