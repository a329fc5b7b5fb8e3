"""The forecast job (daily, and on demand locally): each depot's daily order history read
from the analytics aggregates, handed to the forecasting function, its answer stored. This
side imports no numpy: the function runs from the optimiser's package (forecasting/handler.py).

History: the aggregates' `orders` of each depot-local day, i.e. orders that reached their
outcome that day (delivered or deposited, returned, cancelled): the work the depot's vehicles
did, which is what `vehicles_needed` is about (orders received are not aggregated)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from chalicelib.domain.tenancy import Depot
from chalicelib.forecasting.zones import country_of_zone
from chalicelib.store.forecasts import StoredForecast

HISTORY_DAYS = 400  # a year and some weeks: the yearly terms, and 8 weeks to backtest on
MIN_HISTORY_DAYS = 14  # as the model (forecasting/model.py) needs
HORIZON = 7
DEFAULT_STOPS_PER_ROUTE = 25.0  # a van's day when the depot has completed no route yet


class DayTotals(Protocol):
    def day_totals(self, depot_id: str, day: str, names: Iterable[str]) -> dict[str, float]: ...


class Forecasts(Protocol):
    def put(self, forecast: StoredForecast) -> None: ...


@dataclass(frozen=True)
class History:
    start: date
    orders: list[float]
    stops_per_route: float


def read_history(facts: DayTotals, depot_id: str, last_day: date) -> History | None:
    """The depot's days up to `last_day`, from its first with any order; its stops per
    route over the whole span. None when fewer than MIN_HISTORY_DAYS days remain."""
    days = [last_day - timedelta(days=i) for i in range(HISTORY_DAYS - 1, -1, -1)]
    totals = [
        facts.day_totals(depot_id, d.isoformat(), ("orders", "routes", "route_stops")) for d in days
    ]
    first = next((i for i, t in enumerate(totals) if t["orders"] > 0), None)
    if first is None or len(days) - first < MIN_HISTORY_DAYS:
        return None
    routes = sum(t["routes"] for t in totals)
    stops = sum(t["route_stops"] for t in totals)
    per_route = stops / routes if routes and stops else DEFAULT_STOPS_PER_ROUTE
    return History(days[first], [t["orders"] for t in totals[first:]], per_route)


class ForecastJob:
    def __init__(
        self,
        depots: Callable[[], Iterable[Depot]],
        facts: DayTotals,
        forecaster: Callable[[dict[str, Any]], dict[str, Any]],
        forecasts: Forecasts,
    ) -> None:
        self._depots = depots
        self._facts = facts
        self._forecaster = forecaster
        self._forecasts = forecasts

    def run(self, now: datetime) -> dict[str, Any]:
        """Forecast every depot with enough history from its local tomorrow on; returns the
        depots forecast and those skipped (too little history)."""
        made, skipped = [], []
        for depot in self._depots():
            today = now.astimezone(ZoneInfo(depot.timezone)).date()
            history = read_history(self._facts, depot.depot_id, today - timedelta(days=1))
            if history is None:
                skipped.append(depot.depot_id)
                continue
            answer = self._forecaster(
                {
                    "start": history.start.isoformat(),
                    "orders": history.orders,
                    "horizon": HORIZON,
                    "stops_per_route": history.stops_per_route,
                    "country": country_of_zone(depot.timezone),
                }
            )
            # The history ends yesterday; today's own count is not in yet, so the forecast's
            # first day is today (the function forecasts the days after the history).
            self._forecasts.put(
                StoredForecast(
                    depot.depot_id,
                    now.isoformat(),
                    history.start.isoformat(),
                    (today - timedelta(days=1)).isoformat(),
                    answer,
                )
            )
            made.append(depot.depot_id)
        return {"forecast": made, "skipped": skipped}
