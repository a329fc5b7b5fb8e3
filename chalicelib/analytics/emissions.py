"""CO2e per vehicle profile, following GLEC Framework v3 / ISO 14083: emissions = distance x the
profile's well-to-wheel emission factor. One table, with where each default comes from.

These are defaults (rounded, per vehicle-km, well-to-wheel), not measurements of a fleet:
an operator with its own fuel or energy figures should replace them here (they are not
configurable at run time yet). docs/analytics.md lists them with their sources."""

from __future__ import annotations

from dataclasses import dataclass

# Grid electricity, kg CO2e per kWh delivered (generation plus transmission losses): the EU-27
# average of recent years (EEA, "Greenhouse gas emission intensity of electricity generation",
# about 0.24-0.25). An operator on a greener tariff or another grid sets its own.
GRID_KG_PER_KWH = 0.25


@dataclass(frozen=True)
class Factor:
    """A profile's factor: grams CO2e per vehicle-km (fuel), or kWh per km times the grid."""

    profile: str
    label: str
    g_per_km: float
    source: str


def _electric(kwh_per_km: float) -> float:
    return round(kwh_per_km * GRID_KG_PER_KWH * 1000, 1)


FACTORS: dict[str, Factor] = {
    f.profile: f
    for f in (
        Factor(
            "van",
            "diesel van (up to 3.5 t)",
            310.0,
            "UK DESNZ GHG conversion factors 2024, delivery vans average up to 3.5 t, diesel: "
            "about 0.25 kg/km tank-to-wheel plus about 0.06 kg/km well-to-tank; GLEC v3 "
            "light commercial vehicle defaults are of the same order",
        ),
        Factor(
            "electric_van",
            "electric van (grid charged)",
            _electric(0.25),
            "0.25 kWh/km at the plug (charging losses included; manufacturers' WLTP figures "
            "for 3.5 t e-vans are 0.2-0.3) x the grid factor",
        ),
        Factor(
            "cargo_bike",
            "electric cargo bike",
            _electric(0.02),
            "about 0.02 kWh/km at the plug for a loaded e-cargo bike x the grid factor "
            "(the rider's food is outside the GLEC boundary)",
        ),
        Factor("on_foot", "on foot", 0.0, "no vehicle energy: zero by the GLEC boundary"),
        Factor(
            "drone",
            "small delivery drone",
            _electric(0.08),
            "about 0.08 kWh/km for a small multicopter with a light parcel (Stolaroff et al., "
            "Nature Communications 9, 409, 2018) x the grid factor",
        ),
    )
}


def g_co2e(profile: str, distance_m: float) -> float:
    """Grams CO2e for `distance_m` driven with `profile` (an unknown profile counts as a
    diesel van: the conservative choice)."""
    factor = FACTORS.get(profile) or FACTORS["van"]
    return round(distance_m / 1000 * factor.g_per_km, 3)
