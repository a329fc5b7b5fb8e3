"""Each depot's newest forecast, one item a depot: written by the forecast job, read by the
analytics API (which never computes one: the model is numpy, off the API's package)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from chalicelib.store.models.analytics import ForecastItem
from chalicelib.store.reads import get_one


@dataclass(frozen=True)
class StoredForecast:
    depot_id: str
    made_at: str
    history_from: str
    history_to: str
    answer: dict[str, Any]


def _key(depot_id: str) -> tuple[str, str]:
    return f"FORECAST#{depot_id}", "LATEST"


class ForecastStore:
    def put(self, forecast: StoredForecast) -> None:
        """Replace the depot's forecast (a newer run's answer is simply the newer one)."""
        ForecastItem(
            *_key(forecast.depot_id),
            depot_id=forecast.depot_id,
            made_at=forecast.made_at,
            history_from=forecast.history_from,
            history_to=forecast.history_to,
            answer=json.dumps(forecast.answer, separators=(",", ":")),
        ).save()

    def get(self, depot_id: str) -> StoredForecast | None:
        item = get_one(ForecastItem, *_key(depot_id))
        if item is None:
            return None
        return StoredForecast(
            item.depot_id, item.made_at, item.history_from, item.history_to, json.loads(item.answer)
        )
