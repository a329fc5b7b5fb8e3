"""The daily-orders model: day-of-week effects, a damped trend, yearly terms (with a year of
history) and holiday effects, multiplicative (fitted on log(1 + orders)) by weighted least
squares in numpy; p90 from the
quantile of its one-week-ahead residuals. Runs in the forecasting function (numpy), never in
the API's."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

MODEL = "log-linear dow+damped_trend+yearly+holidays/wls"
MIN_HISTORY_DAYS = 14  # two of each weekday: fewer and the weekday effects are guesses
HALF_LIFE_DAYS = 120.0  # older days weigh less: a level that moved is followed
DAMPING = 0.9  # the trend's step shrinks by this much a day ahead (Gardner-McKenzie damping)
YEARLY_MIN_DAYS = 365  # yearly terms only once a whole year has been seen
RIDGE = 1e-3  # keeps a column that never varies (no holiday in history) from blowing up


@dataclass(frozen=True)
class DayForecast:
    date: str
    p50: float
    p90: float


Holidays = Callable[[date], bool]
Series = Sequence[float] | np.ndarray  # daily counts, one a day


def no_holidays(_: date) -> bool:
    return False


def holiday_calendar(country: str | None, years: Sequence[int]) -> Holidays:
    """Public holidays of `country` (ISO 3166 alpha-2) from the `holidays` package; none for
    no country or one the package does not know."""
    if not country:
        return no_holidays
    import holidays  # the optimiser's package only

    try:
        calendar = holidays.country_holidays(country, years=list(years))
    except NotImplementedError:
        return no_holidays
    return lambda day: day in calendar


def _design(days: Sequence[date], t: np.ndarray, yearly: bool, holiday: Holidays) -> np.ndarray:
    dow = np.array([d.weekday() for d in days])
    columns = [np.ones(len(days)), t]
    columns += [(dow == k).astype(float) for k in range(1, 7)]  # Monday is the intercept
    columns.append(np.array([1.0 if holiday(d) else 0.0 for d in days]))
    if yearly:
        doy = np.array([d.timetuple().tm_yday for d in days], dtype=float)
        for k in (1, 2):
            columns += [np.sin(2 * np.pi * k * doy / 365.25), np.cos(2 * np.pi * k * doy / 365.25)]
    return np.column_stack(columns)


@dataclass(frozen=True)
class Fit:
    start: date
    n: int
    coef: np.ndarray
    yearly: bool
    holiday: Holidays

    def predict(self, days: Sequence[date]) -> np.ndarray:
        """Point forecasts: inside the history the fitted line; past its end the trend's steps
        damped (t_n + phi + phi^2 + ... instead of t_n + h)."""
        offsets = np.array([(d - self.start).days for d in days], dtype=float)
        last = self.n - 1
        ahead = np.maximum(offsets - last, 0)
        damped = np.where(ahead > 0, last + DAMPING * (1 - DAMPING**ahead) / (1 - DAMPING), offsets)
        return np.expm1(_design(days, damped, self.yearly, self.holiday) @ self.coef)


def fit(start: date, orders: Series, holiday: Holidays = no_holidays) -> Fit:
    """Fit the model to daily counts from `start` (one a day, no gaps: a day with no orders
    is a 0)."""
    # On log(1 + y): weekday, holiday and yearly effects multiply the level (a holiday takes
    # a share of a Saturday, not a fixed count), and the median is the back-transformed line.
    y = np.log1p(np.maximum(np.asarray(orders, dtype=float), 0.0))
    n = len(y)
    if n < MIN_HISTORY_DAYS:
        raise ValueError(f"{n} days of history; the model needs {MIN_HISTORY_DAYS}")
    days = [start + timedelta(days=i) for i in range(n)]
    yearly = n >= YEARLY_MIN_DAYS
    x = _design(days, np.arange(n, dtype=float), yearly, holiday)
    w = np.sqrt(0.5 ** ((n - 1 - np.arange(n)) / HALF_LIFE_DAYS))
    xw, yw = x * w[:, None], y * w
    coef = np.linalg.solve(xw.T @ xw + RIDGE * np.eye(x.shape[1]), xw.T @ yw)
    return Fit(start, n, coef, yearly, holiday)


def forecast(
    start: date,
    orders: Series,
    horizon: int = 7,
    holiday: Holidays = no_holidays,
) -> list[DayForecast]:
    """The next `horizon` days after the history: p50 the model's, p90 p50 plus the 90th
    percentile of its errors one week ahead over the last 8 weeks it could be tested on (the
    in-sample residuals when the history is too short for that)."""
    y = np.asarray(orders, dtype=float)
    model = fit(start, y, holiday)
    future = [start + timedelta(days=len(y) + i) for i in range(horizon)]
    p50 = np.maximum(model.predict(future), 0.0)
    spread = max(float(np.quantile(_errors(start, y, holiday), 0.9)), 0.0)
    return [
        DayForecast(d.isoformat(), round(float(m), 2), round(float(m) + spread, 2))
        for d, m in zip(future, p50, strict=True)
    ]


def _errors(start: date, y: np.ndarray, holiday: Holidays) -> np.ndarray:
    """Actual minus forecast, 1 to 7 days ahead, from origins a week apart."""
    found: list[np.ndarray] = []
    for origin in range(len(y) - 7, MIN_HISTORY_DAYS - 1, -7)[:8]:
        model = fit(start, y[:origin], holiday)
        ahead = [start + timedelta(days=origin + i) for i in range(7)]
        found.append(y[origin : origin + 7] - np.maximum(model.predict(ahead), 0.0))
    if not found:
        model = fit(start, y, holiday)
        days = [start + timedelta(days=i) for i in range(len(y))]
        return y - model.predict(days)
    return np.concatenate(found)


def vehicles_needed(orders_p90: float, stops_per_route: float) -> int:
    """Vehicles to carry the p90 day at the depot's usual stops per route (one route each)."""
    if stops_per_route <= 0:
        raise ValueError("stops per route must be positive")
    return math.ceil(round(orders_p90, 6) / stops_per_route)
