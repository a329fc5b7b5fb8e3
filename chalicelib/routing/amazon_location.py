"""Amazon Location route-matrix adapter behind the travel-matrix port (real road times).

Takes an injected `geo-routes` client (anything with boto3's `calculate_route_matrix`); this
module never imports boto3. Profiles without a road travel mode (drones) use the built-in
great-circle provider.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from chalicelib.routing.errors import TravelMatrixError
from chalicelib.routing.model import Location, VehicleProfile
from chalicelib.routing.travel import GreatCircleTravel

DEFAULT_MODES = {
    "van": "Truck",
    "electric_van": "Truck",
    "cargo_bike": "Scooter",
    "on_foot": "Pedestrian",
}


class RouteMatrixClient(Protocol):
    def calculate_route_matrix(self, **kwargs: Any) -> Mapping[str, Any]: ...


class AmazonLocationTravel:
    """Road distances and durations from Amazon Location, requested in tiles because the
    service bounds origins x destinations per call."""

    def __init__(
        self,
        client: RouteMatrixClient,
        *,
        modes: Mapping[str, str] | None = None,
        tile: int = 100,
    ) -> None:
        self._client = client
        self._modes = dict(DEFAULT_MODES if modes is None else modes)
        self._tile = tile
        self._fallback = GreatCircleTravel()

    def matrices(
        self, points: Sequence[Location], profile: VehicleProfile
    ) -> tuple[np.ndarray, np.ndarray]:
        mode = self._modes.get(profile.name)
        if mode is None:
            return self._fallback.matrices(points, profile)
        n = len(points)
        dist = np.zeros((n, n))
        dur = np.zeros((n, n))
        positions = [{"Position": [p.lon, p.lat]} for p in points]
        for i0 in range(0, n, self._tile):
            for j0 in range(0, n, self._tile):
                origins = positions[i0 : i0 + self._tile]
                destinations = positions[j0 : j0 + self._tile]
                answer = self._client.calculate_route_matrix(
                    Origins=origins,
                    Destinations=destinations,
                    TravelMode=mode,
                    RoutingBoundary={"Unbounded": True},
                )
                rows = answer.get("RouteMatrix")
                if rows is None or len(rows) != len(origins):
                    raise TravelMatrixError("route matrix answer has the wrong number of rows")
                for di, row in enumerate(rows):
                    if len(row) != len(destinations):
                        raise TravelMatrixError("route matrix row has the wrong length")
                    for dj, cell in enumerate(row):
                        i, j = i0 + di, j0 + dj
                        if i == j:
                            continue
                        if "Error" in cell or "Distance" not in cell:
                            raise TravelMatrixError(
                                f"no road route from point {i} to point {j}: {cell.get('Error')}"
                            )
                        dist[i, j] = float(cell["Distance"])
                        dur[i, j] = float(cell["Duration"])
        return dist, dur
