"""Service areas: a radius on the Earth's surface, and GeoJSON polygons by ray casting."""

from __future__ import annotations

from chalicelib.allocation.areas import DEFAULT_RADIUS_KM, ServiceArea, in_polygon

LONDON = (51.5, -0.12)
SQUARE = [[[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0], [0.0, 0.0]]]
HOLE = [[4.0, 4.0], [6.0, 4.0], [6.0, 6.0], [4.0, 6.0], [4.0, 4.0]]


def test_a_radius_covers_up_to_its_edge_and_no_further() -> None:
    area = ServiceArea(radius_km=10)
    # 0.0899 degrees of latitude is 10.0 km; 0.0905 is 10.06 km.
    assert area.covers(*LONDON, LONDON[0] + 0.0899, LONDON[1])
    assert not area.covers(*LONDON, LONDON[0] + 0.0905, LONDON[1])


def test_no_area_set_is_the_default_radius_so_edinburgh_is_not_londons() -> None:
    area = ServiceArea.from_dict(None)
    assert area.radius_km == DEFAULT_RADIUS_KM
    assert area.covers(*LONDON, 51.7590, -0.2)  # 30 km north
    assert not area.covers(*LONDON, 55.9507, -3.1858)  # Edinburgh, 530 km


def test_inside_outside_and_on_the_boundary_of_a_polygon() -> None:
    assert in_polygon(SQUARE, 5.0, 1.0)
    assert not in_polygon(SQUARE, 11.0, 5.0)
    assert not in_polygon(SQUARE, -0.0001, 5.0)
    assert in_polygon(SQUARE, 10.0, 5.0)  # on an edge: served
    assert in_polygon(SQUARE, 0.0, 0.0)  # a vertex
    # A ray through a vertex is counted once (half-open in y).
    diamond = [[[0.0, 5.0], [5.0, 0.0], [10.0, 5.0], [5.0, 10.0], [0.0, 5.0]]]
    assert in_polygon(diamond, 2.0, 5.0)
    assert not in_polygon(diamond, -1.0, 5.0)


def test_a_hole_is_not_served_but_its_edge_is() -> None:
    holed = [SQUARE[0], HOLE]
    assert not in_polygon(holed, 5.0, 5.0)
    assert in_polygon(holed, 2.0, 2.0)
    assert in_polygon(holed, 4.0, 5.0)


def test_a_concave_polygon() -> None:
    # A U shape: the notch between its arms is outside.
    u_shape = [[[0, 0], [9, 0], [9, 9], [6, 9], [6, 3], [3, 3], [3, 9], [0, 9], [0, 0]]]
    polygon = [[(float(x), float(y)) for x, y in u_shape[0]]]
    assert in_polygon(polygon, 1.5, 8.0)
    assert in_polygon(polygon, 7.5, 8.0)
    assert not in_polygon(polygon, 4.5, 6.0)


def test_geojson_polygon_and_multipolygon_in_lng_lat_order() -> None:
    # GeoJSON is [lng, lat]: a box around central London.
    box = [[-0.2, 51.45], [0.0, 51.45], [0.0, 51.55], [-0.2, 51.55], [-0.2, 51.45]]
    polygon = ServiceArea.from_dict({"geojson": {"type": "Polygon", "coordinates": [box]}})
    assert polygon.covers(0, 0, 51.5, -0.12)
    assert not polygon.covers(0, 0, -0.12, 51.5)  # lat/lng swapped is the Indian Ocean
    far = [[2.2, 48.8], [2.5, 48.8], [2.5, 48.9], [2.2, 48.9], [2.2, 48.8]]
    multi = ServiceArea.from_dict(
        {"geojson": {"type": "MultiPolygon", "coordinates": [[box], [far]]}}
    )
    assert multi.covers(0, 0, 51.5, -0.12)
    assert multi.covers(0, 0, 48.85, 2.35)  # Paris, the second polygon
    assert not multi.covers(0, 0, 50.0, 1.0)
