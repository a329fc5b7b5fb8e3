"""The summary's metrics from a period's aggregate cells: each with its definition (served in
`definitions`), rates 0..1 or None when nothing was measured. Pure."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.analytics.facts import (
    COUNTERS,
    DELAY_CAP_S,
    HISTOGRAMS,
    RATINGS,
    SERVICE_CAP_S,
)
from chalicelib.domain.lifecycle import FAILURE_REASONS

GROUPINGS = ("day", "depot", "merchant", "vehicle")

DEFINITIONS: dict[str, str] = {
    "orders": "Orders that reached their outcome on the day: delivered at the door, deposited "
    "in a locker, returned after the last failed attempt, or cancelled. An order counts once "
    "(a locker parcel that expires later is a return, not a second order).",
    "delivered": "Orders delivered at the door or deposited in a locker.",
    "failed_attempts": "Delivery attempts that failed (each attempt counts), by reason in "
    "failed_by_reason.",
    "returned": "Orders going back to the merchant: after the last failed attempt, or "
    "uncollected from a locker (expiries).",
    "cancelled": "Orders cancelled.",
    "first_attempt_success_rate": "Orders delivered (or deposited in their locker) at the "
    "first attempt / orders that had a first attempt on the day.",
    "on_time_rate": "Deliveries inside the window last told to the customer (start <= "
    "delivered at <= end) / deliveries with a window told. Deliveries with no window told "
    "are not counted either way.",
    "otif_rate": "On time and in full (every parcel of the order delivered) / deliveries with "
    "a window told.",
    "median_delivery_minutes": "Median minutes from received (the order's creation) to "
    "delivered, from the events' own times (never updated_at); nearest rank, whole minutes.",
    "p90_delivery_minutes": "90th percentile of the same, nearest rank (the smallest duration "
    "with at least 90% of deliveries at or under it), whole minutes.",
    "avg_out_to_delivered_minutes": "Average minutes from out for delivery to delivered.",
    "tasks_per_hour": "Onfleet's: tasks (stops served: delivered, failed, deposited) / the "
    "drivers' active hours (departure to the last stop served), over completed routes. Not "
    "split by merchant (a route serves many): null when filtered or grouped by merchant.",
    "km_per_stop": "Route kilometres allocated to stops (each planned stop an equal share of "
    "its route's planned distance) / stops attempted.",
    "stops_per_route": "Planned stops / routes completed (not split by merchant).",
    "co2e_g_per_parcel": "GLEC Framework v3 / ISO 14083: the stops' allocated distance x the "
    "vehicle profile's well-to-wheel factor (chalicelib/analytics/emissions.py, "
    "docs/analytics.md), grams / parcels delivered.",
    "rating_avg": "Average of customers' ratings (1-5) of the deliveries of the day.",
    "ratings": "Ratings received for the deliveries of the day.",
    "rating_distribution": "Ratings by stars.",
    "locker_share": "Deliveries deposited in a locker / deliveries.",
    "avg_collection_minutes": "Average minutes from deposit to collection by the customer.",
    "expiries": "Locker parcels not collected in time.",
    "avg_service_minutes": "Onfleet's service time: arrived to delivered or failed, each stop "
    f"capped at {SERVICE_CAP_S // 60} minutes, averaged over stops with an arrival.",
    "avg_delay_minutes": "Onfleet's delay: minutes past the window's end of a late delivery, "
    f"capped at {DELAY_CAP_S // 60}, averaged over late deliveries.",
    "planned_route_minutes": "Average planned duration of completed routes.",
    "actual_route_minutes": "Average actual duration (departure to last stop served).",
    "route_co2e_g": "Grams CO2e of completed routes (planned distance x factor).",
}


@dataclass
class Cell:
    """One aggregate cell (a depot's day, a merchant, a vehicle), its shards summed."""

    day: str
    depot_id: str
    merchant_id: str
    vehicle_id: str
    counters: dict[str, float] = field(default_factory=dict)
    histograms: dict[str, Counter[int]] = field(default_factory=dict)

    def key(self, group_by: str) -> str:
        return {
            "all": "all",
            "day": self.day,
            "depot": self.depot_id,
            "merchant": self.merchant_id,
            "vehicle": self.vehicle_id,
        }[group_by]


def _ratio(numerator: float, denominator: float, scale: float = 1.0) -> float | None:
    return round(numerator / denominator / scale, 4) if denominator else None


def percentile(histogram: Mapping[int, int], p: float) -> int | None:
    """Nearest rank: the smallest value with at least p of the counts at or under it."""
    total = sum(histogram.values())
    if not total:
        return None
    rank = max(1, math.ceil(p * total))
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    raise AssertionError("unreachable: the ranks add up to the total")


def metrics(
    counters: Mapping[str, float],
    histograms: Mapping[str, Mapping[int, int]],
    *,
    by_merchant: bool = False,
) -> dict[str, Any]:
    """A group's metrics from its summed counters and histograms. `by_merchant`: the group is
    a merchant's share, whose route-level figures are not measured (null)."""
    n = Counter({name: counters.get(name, 0) for name in COUNTERS})
    rcv = histograms.get("received_to_delivered", {})
    route = not by_merchant
    return {
        "orders": int(n["orders"]),
        "delivered": int(n["delivered"]),
        "failed_attempts": int(n["failed_attempts"]),
        "returned": int(n["returned"]),
        "cancelled": int(n["cancelled"]),
        "first_attempt_success_rate": _ratio(n["first_attempt_successes"], n["first_attempts"]),
        "on_time_rate": _ratio(n["on_time"], n["promised"]),
        "otif_rate": _ratio(n["otif"], n["promised"]),
        "median_delivery_minutes": percentile(rcv, 0.5),
        "p90_delivery_minutes": percentile(rcv, 0.9),
        "avg_out_to_delivered_minutes": _ratio(n["out_s"], n["out_deliveries"], 60),
        "tasks_per_hour": _ratio(n["route_tasks"], n["route_active_s"], 1 / 3600)
        if route
        else None,
        "km_per_stop": _ratio(n["stop_distance_m"], n["stops"], 1000),
        "stops_per_route": _ratio(n["route_stops"], n["routes"]) if route else None,
        "co2e_g_per_parcel": _ratio(n["stop_co2e_g"], n["parcels_delivered"]),
        "rating_avg": _ratio(n["rating_sum"], n["ratings"]),
        "ratings": int(n["ratings"]),
        "rating_distribution": {str(r): int(n[f"rating_{r}"]) for r in RATINGS},
        "failed_by_reason": {r: int(n[f"failed_{r}"]) for r in FAILURE_REASONS if n[f"failed_{r}"]},
        "locker_share": _ratio(n["delivered_locker"], n["delivered"]),
        "deposits": int(n["deposits"]),
        "collections": int(n["collections"]),
        "avg_collection_minutes": _ratio(n["collection_s"], n["collections"], 60),
        "expiries": int(n["expiries"]),
        "avg_service_minutes": _ratio(n["service_s"], n["service_stops"], 60),
        "avg_delay_minutes": _ratio(n["delay_s"], n["delayed"], 60),
        "routes": int(n["routes"]) if route else None,
        "planned_route_minutes": _ratio(n["route_planned_s"], n["routes"], 60) if route else None,
        "actual_route_minutes": _ratio(n["route_actual_s"], n["routes"], 60) if route else None,
        "route_co2e_g": round(n["route_co2e_g"], 1) if route else None,
    }


def summarise(cells: Iterable[Cell], group_by: str, *, merchant_view: bool) -> list[dict[str, Any]]:
    """The groups of a period, sorted by key. `merchant_view`: only a merchant's cells were
    read (route-level figures are null)."""
    counters: dict[str, Counter[str]] = {}
    histograms: dict[str, dict[str, Counter[int]]] = {}
    for cell in cells:
        key = cell.key(group_by)
        counters.setdefault(key, Counter()).update(cell.counters)
        held = histograms.setdefault(key, {name: Counter() for name in HISTOGRAMS})
        for name, histogram in cell.histograms.items():
            held.setdefault(name, Counter()).update(histogram)
    by_merchant = merchant_view or group_by == "merchant"
    groups = []
    for key in sorted(counters):
        row = metrics(counters[key], histograms[key], by_merchant=by_merchant)
        if group_by == "merchant" and key == "-":
            continue  # the routes' own cells: no merchant's
        groups.append({"key": key, **row})
    return groups
