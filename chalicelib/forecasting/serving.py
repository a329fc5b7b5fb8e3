"""What `GET /v1/analytics/forecast` answers: the depot's stored forecast, cut to the days
asked for. Nothing is computed here (the API has no numpy); no forecast yet is a 409."""

from __future__ import annotations

from typing import Any, Protocol

from chalicelib.domain.errors import Conflict, DepotNotFound, ValidationFailed
from chalicelib.store.forecasts import StoredForecast

MAX_DAYS = 7


class ForecastNotReady(Conflict):
    """The depot exists but no forecast was made for it yet (too little history, or the
    daily job has not run since it had enough)."""

    code = "forecast_not_ready"


class StoredForecasts(Protocol):
    def get(self, depot_id: str) -> StoredForecast | None: ...


class Depots(Protocol):
    def depot(self, depot_id: str) -> Any: ...


def parse_days(raw: str | None) -> int:
    if raw is None:
        return MAX_DAYS
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_DAYS:
        raise ValidationFailed(f"days must be a whole number from 1 to {MAX_DAYS}", field="days")
    return int(raw)


class ForecastService:
    def __init__(self, forecasts: StoredForecasts, depots: Depots) -> None:
        self._forecasts = forecasts
        self._depots = depots

    def forecast(self, depot_id: str | None, raw_days: str | None) -> dict[str, Any]:
        if not depot_id:
            raise ValidationFailed("depot_id is required", field="depot_id")
        days = parse_days(raw_days)
        if len(depot_id.encode()) > 256:
            raise DepotNotFound(f"no depot {depot_id[:64]}...", field="depot_id")
        try:
            self._depots.depot(depot_id)
        except DepotNotFound as exc:
            raise DepotNotFound(exc.message, field="depot_id") from exc
        stored = self._forecasts.get(depot_id)
        if stored is None:
            raise ForecastNotReady(
                f"no forecast for depot {depot_id} yet: it needs 14 days with orders and the "
                "daily forecast run after them"
            )
        answer = stored.answer
        return {
            "depot_id": depot_id,
            "days": answer["days"][:days],
            "model": answer["model"],
            "backtest": answer["backtest"],
            "made_at": stored.made_at,
            "history": {"from": stored.history_from, "to": stored.history_to},
        }
