"""The Solomon reader and `lastmile solve`, the travel matrices, the Amazon Location adapter."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from chalicelib.routing.amazon_location import AmazonLocationTravel
from chalicelib.routing.commands import register
from chalicelib.routing.errors import InstanceFormatError, TravelMatrixError
from chalicelib.routing.model import PROFILES, Location, SlowdownPeriod
from chalicelib.routing.solomon import read_solomon
from chalicelib.routing.travel import GreatCircleTravel, slowdown_at, worst_slowdown

TINY = """TINY

VEHICLE
NUMBER     CAPACITY
  3         20

CUSTOMER
CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME

    0      40         50          0          0       1236          0
    1      45         68         10        912        967         90
    2      45         70         10        825        870         90
    3      42         66         10         65        146         90
    4      42         68          7        727        782         90
    5      42         65         10         15         67         90
"""


def _solve(tmp_path, capsys) -> dict[str, Any]:
    import argparse

    path = tmp_path / "tiny.txt"
    path.write_text(TINY.replace("\n", "\r\n"))
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["solve", str(path), "--time-limit", "1.5"])
    assert args.func(args) == 0
    return json.loads(capsys.readouterr().out)


def test_solve_prints_vehicles_distance_and_customer_routes(tmp_path, capsys):
    out = _solve(tmp_path, capsys)
    assert set(out) == {"vehicles", "distance", "routes"}
    assert sorted(c for r in out["routes"] for c in r) == [1, 2, 3, 4, 5]
    assert out["vehicles"] == len(out["routes"])
    # Re-time every route with exact Euclidean times: windows and capacity must hold.
    rows = {
        int(r[0]): [float(x) for x in r[1:]]
        for r in (ln.split() for ln in TINY.splitlines())
        if len(r) == 7 and r[0].isdigit()
    }
    total = 0.0
    for route in out["routes"]:
        t, load, here = 0.0, 0.0, 0
        for c in [*route, 0]:
            x0, y0 = rows[here][0], rows[here][1]
            x1, y1, q, ready, due, service = rows[c]
            d = math.hypot(x1 - x0, y1 - y0)
            total += d
            t = max(t + d, ready) if c else t + d
            assert t <= due + 1e-9
            t += service if c else 0
            load += q
            here = c
        assert load <= 20
    assert out["distance"] == pytest.approx(total, abs=1e-3)


def test_reader_rejects_what_is_not_solomon(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("hello\nworld\n")
    with pytest.raises(InstanceFormatError):
        read_solomon(bad)


def test_great_circle_applies_detour_and_speed():
    berlin, potsdam = Location(52.5200, 13.4050), Location(52.3906, 13.0645)
    dist, dur = GreatCircleTravel().matrices([berlin, potsdam], PROFILES["van"])
    assert dist[0, 1] == pytest.approx(27_000 * 1.35, rel=0.03)
    assert dur[0, 1] == pytest.approx(dist[0, 1] / (30 / 3.6))
    assert np.allclose(np.diag(dist), 0)


def test_slowdown_profile():
    traffic = [SlowdownPeriod(100, 200, 1.5), SlowdownPeriod(300, 400, 2.0)]
    assert slowdown_at(traffic, 150) == 1.5 and slowdown_at(traffic, 250) == 1.0
    assert worst_slowdown(traffic, 0, 350) == 2.0 and worst_slowdown(traffic, 0, 50) == 1.0


class RecordingRouteMatrix:
    """Stands in for boto3's geo-routes client: answers from straight-line metres."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def calculate_route_matrix(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        rows = []
        for o in kwargs["Origins"]:
            rows.append(
                [
                    {
                        "Distance": round(abs(o["Position"][0] - d["Position"][0]) * 1e5),
                        "Duration": 60,
                    }
                    for d in kwargs["Destinations"]
                ]
            )
        return {"RouteMatrix": rows}


def test_amazon_location_adapter_tiles_requests_and_maps_modes():
    client = RecordingRouteMatrix()
    points = [Location(52.5, 13.0 + k / 100) for k in range(5)]
    dist, dur = AmazonLocationTravel(client, tile=2).matrices(points, PROFILES["cargo_bike"])
    assert len(client.calls) == 9  # 3 x 3 tiles of at most 2 x 2
    assert {c["TravelMode"] for c in client.calls} == {"Scooter"}
    assert dist[0, 4] == 4000 and dur[1, 2] == 60 and dur[3, 3] == 0
    drone = AmazonLocationTravel(client).matrices(points, PROFILES["drone"])
    assert len(client.calls) == 9 and drone[0][0, 4] > 0  # drones fly, no road request


def test_amazon_location_errors_become_travel_matrix_errors():
    class Failing:
        def calculate_route_matrix(self, **kwargs: Any) -> dict[str, Any]:
            n = len(kwargs["Origins"])
            return {"RouteMatrix": [[{"Error": {"Code": "OutOfBounds"}}] * n] * n}

    with pytest.raises(TravelMatrixError):
        AmazonLocationTravel(Failing()).matrices([Location(0, 0), Location(0, 1)], PROFILES["van"])
