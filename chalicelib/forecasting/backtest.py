"""Rolling-origin backtests of the model against the seasonal-naive baseline (the same
weekday last week), scored by MASE (Hyndman and Koehler 2006): mean absolute error over the
mean absolute error of the in-sample seasonal-naive forecast."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from chalicelib.forecasting.model import MIN_HISTORY_DAYS, Holidays, Series, fit, no_holidays

SEASON = 7
TARGET_RATIO = 0.8  # the model's MASE must be at least 20% under the baseline's


def mase(actual: Series, predicted: Series, history: Series) -> float:
    """MASE of `predicted` against `actual`, scaled by the in-sample MAE of the seasonal-naive
    forecast over `history` (|y_t - y_{t-7}|)."""
    h = np.asarray(history, dtype=float)
    if len(h) <= SEASON:
        raise ValueError(f"MASE needs more than {SEASON} days of history")
    scale = float(np.mean(np.abs(h[SEASON:] - h[:-SEASON])))
    if scale == 0:
        raise ValueError("the history never changes week on week: MASE is undefined")
    errors = np.abs(np.asarray(actual, dtype=float) - np.asarray(predicted, dtype=float))
    return float(np.mean(errors)) / scale


@dataclass(frozen=True)
class Backtest:
    mase: float
    baseline_mase: float
    origins: int

    @property
    def ratio(self) -> float:
        return self.mase / self.baseline_mase


def rolling_origin(
    start: date,
    orders: Series,
    weeks: int = 8,
    holiday: Holidays = no_holidays,
) -> Backtest | None:
    """Forecast 7 days ahead from each of the last `weeks` week-apart origins (fitted on what
    came before each), both the model and the baseline; both MASEs scaled by the history
    before the first origin. None when the history is too short for one origin."""
    y = np.asarray(orders, dtype=float)
    origins = [o for o in range(len(y) - SEASON * weeks, len(y), SEASON) if o >= MIN_HISTORY_DAYS]
    origins = [o for o in origins if o + SEASON <= len(y)]
    if not origins:
        return None
    actual, model, naive = [], [], []
    for origin in origins:
        fitted = fit(start, y[:origin], holiday)
        ahead = [start + timedelta(days=origin + i) for i in range(SEASON)]
        actual.append(y[origin : origin + SEASON])
        model.append(np.maximum(fitted.predict(ahead), 0.0))
        naive.append(y[origin - SEASON : origin])
    history = y[: origins[0]]
    a, m, b = np.concatenate(actual), np.concatenate(model), np.concatenate(naive)
    try:
        return Backtest(mase(a, m, history), mase(a, b, history), len(origins))
    except ValueError:
        return None  # a history flat week on week: nothing to scale by


def synthetic_year(
    seed: int = 7, days: int = 365 + 8 * 7, start: date = date(2025, 1, 6)
) -> tuple[date, list[float], Holidays]:
    """A generated history: level 120 a day, a trend of +40 over the year, weekly shape
    (Saturday +35%, Sunday -55%), a yearly swell (Christmas peak), Poisson noise, promotion
    days (x1.6, about one in 25) and the holidays of `GB` (x0.3). Returns (start, orders,
    holiday calendar)."""
    from chalicelib.forecasting.model import holiday_calendar

    rng = np.random.default_rng(seed)
    holiday = holiday_calendar("GB", range(start.year, start.year + 3))
    weekly = np.array([1.0, 1.02, 1.0, 1.05, 1.1, 1.35, 0.45])
    orders = []
    for i in range(days):
        d = start + timedelta(days=i)
        level = 120 + 40 * i / 365
        yearly = 1 + 0.15 * np.cos(2 * np.pi * (d.timetuple().tm_yday - 350) / 365.25)
        mean = level * weekly[d.weekday()] * yearly
        if holiday(d):
            mean *= 0.3
        if rng.random() < 0.04:
            mean *= 1.6
        orders.append(float(rng.poisson(mean)))
    return start, orders, holiday
