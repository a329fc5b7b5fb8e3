"""Reader for Solomon / Gehring & Homberger VRPTW text files, as planner problems."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from chalicelib.routing.errors import InstanceFormatError
from chalicelib.routing.model import (
    Depot,
    Load,
    Location,
    Problem,
    Stop,
    TimeWindow,
    Vehicle,
    VehicleProfile,
)

# Travel time equals Euclidean distance: one unit per second, one "metre" per unit.
UNIT_PROFILE = VehicleProfile("solomon", speed_kmh=3.6, detour_factor=1.0)


@dataclass(frozen=True)
class SolomonInstance:
    name: str
    vehicles: int
    capacity: int
    # rows: (number, x, y, demand, ready, due, service); row 0 is the depot
    rows: list[tuple[int, float, float, int, float, float, float]]

    def to_problem(self) -> Problem:
        depot_row = self.rows[0]
        depot = Depot("depot", Location(depot_row[2], depot_row[1]))
        horizon = depot_row[5]
        vehicles = tuple(
            Vehicle(
                id=f"v{k + 1}",
                depot_id="depot",
                profile=UNIT_PROFILE,
                capacity=Load(parcels=self.capacity),
                shift=TimeWindow(depot_row[4], horizon),
                cost_per_km=1000.0,  # cost = distance in instance units
            )
            for k in range(self.vehicles)
        )
        stops = tuple(
            Stop(
                id=str(num),
                location=Location(y, x),
                demand=Load(parcels=demand),
                windows=(TimeWindow(ready, due),),
                service_base_s=service,
                service_per_parcel_s=0.0,
            )
            for num, x, y, demand, ready, due, service in self.rows[1:]
        )
        return Problem((depot,), vehicles, stops, travel="euclidean")


def read_solomon(path: str | Path) -> SolomonInstance:
    text = Path(path).read_text()
    lines = [ln.split() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln]
    if not lines:
        raise InstanceFormatError(f"{path}: empty file")
    name = lines[0][0]
    vehicles = capacity = None
    rows = []
    for k, ln in enumerate(lines):
        if ln[0].upper() == "NUMBER" and k + 1 < len(lines):
            try:
                vehicles, capacity = int(lines[k + 1][0]), int(lines[k + 1][1])
            except (ValueError, IndexError) as exc:
                raise InstanceFormatError(f"{path}: bad VEHICLE block") from exc
        if len(ln) == 7 and all(part.replace(".", "", 1).isdigit() for part in ln):
            n, x, y, q, r, d, s = ln
            rows.append((int(n), float(x), float(y), int(float(q)), float(r), float(d), float(s)))
    if vehicles is None or capacity is None or len(rows) < 2 or rows[0][0] != 0:
        raise InstanceFormatError(f"{path}: not a Solomon-format instance")
    return SolomonInstance(name, vehicles, capacity, rows)
