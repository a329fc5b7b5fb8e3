"""Seeded real-depot instances for the benchmark: Berlin stops served by a mixed fleet of
vans, electric fridge vans and cargo bikes, with drivers' breaks, wages and costs per km
by vehicle type, a fridge skill on some orders and two windows on others."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from typing import Any

from chalicelib.routing.city import DEPOT, HOUR, customer_location
from chalicelib.routing.model import (
    PROFILES,
    Break,
    Depot,
    Load,
    Problem,
    Stop,
    TimeWindow,
    Vehicle,
)

FRIDGE = "fridge"
SHIFT = TimeWindow(8 * HOUR, 18 * HOUR)
LUNCH = Break(earliest=11 * HOUR, latest=14 * HOUR, duration=45 * 60.0)
BIKE_RANGE_M = 40_000.0
BIKE_PAYLOAD_KG = 150.0


def _fleet(n_stops: int) -> tuple[Vehicle, ...]:
    """About twice the parcels the stops need: a van and a bike per 50 stops, a fridge van
    per 100 (every fridge order needs one)."""
    kinds: tuple[tuple[Any, ...], ...] = (
        # name, profile, how many per 100 stops, parcels, kg, skills, fixed, per km, per hour
        ("van", PROFILES["van"], 2, 120, 800.0, frozenset(), 60.0, 0.30, 22.0),
        ("fridge", PROFILES["electric_van"], 1, 80, 600.0, frozenset({FRIDGE}), 80.0, 0.12, 22.0),
        (
            "bike",
            replace(PROFILES["cargo_bike"], range_m=BIKE_RANGE_M, payload_kg=BIKE_PAYLOAD_KG),
            2,
            25,
            BIKE_PAYLOAD_KG,
            frozenset(),
            15.0,
            0.02,
            18.0,
        ),
    )
    fleet = []
    for name, profile, per_100, parcels, kg, skills, fixed, per_km, per_hour in kinds:
        for k in range(max(1, math.ceil(n_stops * per_100 / 100))):
            fleet.append(
                Vehicle(
                    id=f"{name}{k + 1}",
                    depot_id="depot",
                    profile=profile,
                    capacity=Load(parcels=parcels, weight=kg),
                    shift=SHIFT,
                    breaks=(LUNCH,),
                    skills=skills,
                    fixed_cost=fixed,
                    cost_per_km=per_km,
                    cost_per_hour=per_hour,
                )
            )
    return tuple(fleet)


def _windows(rng: random.Random) -> tuple[TimeWindow, ...]:
    """Half the orders book a 2-hour slot, a tenth two (morning or evening), the rest none."""
    draw = rng.random()
    if draw < 0.5:
        start = rng.choice((9, 11, 13, 15)) * HOUR
        return (TimeWindow(start, start + 2 * HOUR),)
    if draw < 0.6:
        morning = rng.choice((9, 10)) * HOUR
        evening = rng.choice((15, 16)) * HOUR
        return (TimeWindow(morning, morning + 2 * HOUR), TimeWindow(evening, evening + 2 * HOUR))
    return ()


def realistic_problem(n_stops: int, seed: int = 1) -> Problem:
    """Times are seconds since midnight; shifts 08:00-18:00 with a 45-minute break to start
    between 11:00 and 14:00; a tenth of the orders need a fridge."""
    rng = random.Random(seed)
    stops = []
    for k in range(n_stops):
        location = customer_location(rng)  # drawn first: the seeded instances stay the same
        parcels = rng.choice((1, 1, 1, 2, 2, 3))
        stops.append(
            Stop(
                id=f"o{k + 1}",
                location=location,
                demand=Load(parcels=parcels, weight=round(parcels * rng.uniform(0.5, 6.0), 2)),
                windows=_windows(rng),
                service_base_s=120.0,
                service_per_parcel_s=30.0,
                skills=frozenset({FRIDGE}) if rng.random() < 0.1 else frozenset(),
            )
        )
    return Problem((Depot("depot", DEPOT),), _fleet(n_stops), tuple(stops), travel="great_circle")
