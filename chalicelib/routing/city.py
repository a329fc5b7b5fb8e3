"""Seeded city instances for the benchmark: Berlin, a dense centre and suburbs, home
deliveries in 2-hour windows, vans of 120 parcels working one shift from one depot."""

from __future__ import annotations

import math
import random

from chalicelib.routing.model import (
    PROFILES,
    Depot,
    Load,
    Location,
    Problem,
    Stop,
    TimeWindow,
    Vehicle,
)

CENTRE = Location(52.5200, 13.4050)
DEPOT = Location(52.4740, 13.4560)  # a logistics yard in Neukoelln, south-east of the centre
HOUR = 3600.0
M_PER_DEG_LAT = 111_320.0


def offset(origin: Location, north_m: float, east_m: float) -> Location:
    lat = origin.lat + north_m / M_PER_DEG_LAT
    lon = origin.lon + east_m / (M_PER_DEG_LAT * math.cos(math.radians(origin.lat)))
    return Location(round(lat, 6), round(lon, 6))


def customer_location(rng: random.Random) -> Location:
    """Where a customer lives: six in ten in the dense centre, the rest in a ring 5-15 km out."""
    if rng.random() < 0.6:
        north, east = rng.gauss(0, 2500), rng.gauss(0, 3000)
    else:
        r = rng.uniform(5000, 15000)
        a = rng.uniform(0, 2 * math.pi)
        north, east = r * math.sin(a), r * math.cos(a)
    return offset(CENTRE, north, east)


def city_problem(n_stops: int, seed: int = 0, van_capacity: int = 120) -> Problem:
    """Times are seconds since midnight; windows are 2-hour slots from 08:00 to 20:00."""
    rng = random.Random(seed)
    stops = []
    for k in range(n_stops):
        location = customer_location(rng)  # drawn first: the seeded instances stay the same
        parcels = rng.choice((1, 1, 1, 2, 2, 3))
        slot = rng.randrange(6)
        start = 8 * HOUR + slot * 2 * HOUR
        stops.append(
            Stop(
                id=f"o{k + 1}",
                location=location,
                demand=Load(parcels=parcels, weight=round(parcels * rng.uniform(0.5, 6.0), 2)),
                windows=(TimeWindow(start, start + 2 * HOUR),),
                service_base_s=120.0,
                service_per_parcel_s=30.0,
            )
        )
    total = sum(s.demand.parcels for s in stops)
    n_vans = max(2, math.ceil(total / van_capacity * 1.35))
    vans = tuple(
        Vehicle(
            id=f"van{k + 1}",
            depot_id="depot",
            profile=PROFILES["van"],
            capacity=Load(parcels=van_capacity, weight=1000.0, volume=0.0),
            shift=TimeWindow(7 * HOUR, 21 * HOUR),
            cost_per_km=1.0,
        )
        for k in range(n_vans)
    )
    return Problem((Depot("depot", DEPOT),), vans, tuple(stops), travel="great_circle")
