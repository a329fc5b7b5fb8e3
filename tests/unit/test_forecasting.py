"""The forecast model on series whose truth is known, MASE by hand, vehicles arithmetic, and
the job's history read from aggregates (a stateful fake)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from chalicelib.domain.tenancy import Depot
from chalicelib.forecasting.backtest import mase, rolling_origin, synthetic_year
from chalicelib.forecasting.handler import handler
from chalicelib.forecasting.job import DEFAULT_STOPS_PER_ROUTE, ForecastJob, read_history
from chalicelib.forecasting.model import forecast, holiday_calendar, vehicles_needed
from chalicelib.forecasting.zones import country_of_zone
from chalicelib.store.forecasts import StoredForecast

WEEK = [100.0, 110.0, 105.0, 120.0, 140.0, 180.0, 40.0]  # Monday .. Sunday
START = date(2025, 1, 6)  # a Monday


def _series(days: int, holiday: Any = None, noise: float = 0.0) -> list[float]:
    rng = np.random.default_rng(3)
    out = []
    for i in range(days):
        d = START + timedelta(days=i)
        y = WEEK[d.weekday()] + 0.05 * i
        if holiday is not None and holiday(d):
            y *= 0.3
        out.append(y + rng.normal(0, noise))
    return out


def test_the_model_recovers_a_weekly_pattern_and_its_trend() -> None:
    history = _series(10 * 7, noise=3.0)
    days = forecast(START, history, 7)
    for offset, day in enumerate(days):
        i = len(history) + offset
        truth = WEEK[(START + timedelta(days=i)).weekday()] + 0.05 * i
        assert day.p50 == pytest.approx(truth, abs=6), day
        assert day.p90 >= day.p50
    assert days[0].date == (START + timedelta(days=70)).isoformat()


def test_a_holiday_in_the_forecast_is_forecast_low() -> None:
    # GB: Christmas, Boxing Day, New Year, Easter, May and August bank holidays; 400 days
    # from 6 January 2025 end 9 February 2026: the horizon is placed over Easter 2026 below.
    holiday = holiday_calendar("GB", [2025, 2026])
    history = _series(450, holiday=holiday, noise=2.0)  # up to 31 March 2026
    days = forecast(START, history, 7, holiday)
    by_date = {d.date: d for d in days}
    good_friday = by_date["2026-04-03"]
    truth = WEEK[4] + 0.05 * (date(2026, 4, 3) - START).days
    assert good_friday.p50 == pytest.approx(truth * 0.3, abs=12)
    thursday = by_date["2026-04-02"]
    assert thursday.p50 == pytest.approx(WEEK[3] + 0.05 * 451, abs=8)
    assert all(d.p90 >= d.p50 for d in days)


def test_mase_by_hand() -> None:
    # history: |y_t - y_{t-7}| over t=7,8 = |8-1|=7, |9-2|=7 -> scale 7
    history = [1, 2, 3, 4, 5, 6, 7, 8, 9]
    # errors 7 and 0 -> MAE 3.5 -> MASE 0.5
    assert mase([10, 20], [3, 20], history) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        mase([1], [1], [5] * 14)  # flat week on week: nothing to scale by


def test_the_backtest_beats_the_seasonal_naive_baseline_on_the_generated_year() -> None:
    start, orders, holiday = synthetic_year(seed=7)
    result = rolling_origin(start, orders, weeks=8, holiday=holiday)
    assert result is not None and result.origins == 8
    assert result.mase < 0.8 * result.baseline_mase
    assert rolling_origin(START, [5.0] * 20, weeks=8) is None  # no origin after 14 days


@pytest.mark.parametrize(
    ("p90", "per_route", "vehicles"),
    [(100.0, 25.0, 4), (100.01, 25.0, 5), (0.0, 25.0, 0), (1.0, 30.0, 1), (74.9, 25.0, 3)],
)
def test_vehicles_needed(p90: float, per_route: float, vehicles: int) -> None:
    assert vehicles_needed(p90, per_route) == vehicles


def test_the_handler_answers_the_contract_shape() -> None:
    history = _series(70, noise=3.0)
    answer = handler(
        {"start": START.isoformat(), "orders": history, "stops_per_route": 20, "country": "GB"}
    )
    json.dumps(answer)  # the Lambda answer is JSON
    assert len(answer["days"]) == 7
    for day in answer["days"]:
        assert day["vehicles_needed"] == -(-day["orders_p90"] // 20)
    assert set(answer["backtest"]) == {"mase", "baseline_mase"}
    assert answer["backtest"]["mase"] is not None


def test_a_zone_names_its_country() -> None:
    assert country_of_zone("Europe/London") == "GB"
    assert country_of_zone("Europe/Berlin") == "DE"
    assert country_of_zone("UTC") is None


class Aggregates:
    """Day totals as the fact store keeps them: by depot and day."""

    def __init__(self) -> None:
        self.days: dict[tuple[str, str], dict[str, float]] = {}
        self.read: list[str] = []

    def day_totals(self, depot_id: str, day: str, names: Iterable[str]) -> dict[str, float]:
        self.read.append(day)
        found = self.days.get((depot_id, day), {})
        return {n: found.get(n, 0.0) for n in names}


class Forecasts:
    def __init__(self) -> None:
        self.put_: list[StoredForecast] = []

    def put(self, forecast: StoredForecast) -> None:
        self.put_.append(forecast)


def _depot(depot_id: str) -> Depot:
    return Depot(depot_id, depot_id, 51.5, -0.1, "Europe/London", "2025-01-01T00:00:00Z")


def test_the_job_reads_history_to_yesterday_and_stores_the_answer() -> None:
    aggregates, stored, asked = Aggregates(), Forecasts(), []
    yesterday = date(2026, 3, 9)
    for i in range(20):
        day = (yesterday - timedelta(days=i)).isoformat()
        aggregates.days[("d1", day)] = {"orders": 10.0 + i, "routes": 2.0, "route_stops": 24.0}
    aggregates.days[("d2", yesterday.isoformat())] = {"orders": 5.0}  # one day: too little

    def forecaster(request: dict[str, Any]) -> dict[str, Any]:
        asked.append(request)
        return {"days": [], "model": "m", "backtest": {"mase": None, "baseline_mase": None}}

    job = ForecastJob(lambda: [_depot("d1"), _depot("d2")], aggregates, forecaster, stored)
    result = job.run(datetime(2026, 3, 10, 3, 0, tzinfo=UTC))
    assert result == {"forecast": ["d1"], "skipped": ["d2"]}
    (request,) = asked
    assert request["start"] == (yesterday - timedelta(days=19)).isoformat()
    assert request["orders"] == [10.0 + i for i in range(19, -1, -1)]  # oldest first
    assert request["stops_per_route"] == 12.0  # 480 stops / 40 routes
    assert request["country"] == "GB"
    assert stored.put_[0].history_to == yesterday.isoformat()
    assert max(aggregates.read) == yesterday.isoformat()  # today's partial count is not read


def test_no_routes_yet_means_the_default_stops_per_route() -> None:
    aggregates = Aggregates()
    for i in range(14):
        aggregates.days[("d1", (date(2026, 3, 9) - timedelta(days=i)).isoformat())] = {"orders": 3}
    history = read_history(aggregates, "d1", date(2026, 3, 9))
    assert history is not None and history.stops_per_route == DEFAULT_STOPS_PER_ROUTE
    assert read_history(aggregates, "d1", date(2026, 3, 9) + timedelta(days=400)) is None


def test_two_weeks_of_history_forecast_with_in_sample_spread_and_no_backtest() -> None:
    answer = handler({"start": START.isoformat(), "orders": _series(15), "stops_per_route": 10})
    assert len(answer["days"]) == 7
    assert all(d["orders_p90"] >= d["orders_p50"] > 0 for d in answer["days"])
    assert answer["backtest"] == {"mase": None, "baseline_mase": None}
