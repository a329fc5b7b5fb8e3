"""The forecasting function: a depot's daily history in, its next days' forecast, vehicles
and backtest out. Pure computation (numpy, holidays): it reads and writes nothing, so it runs
from the optimiser's package (which has numpy and no PynamoDB); the forecast job on the API
side hands it the history and stores the answer (forecasting/job.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

from chalicelib.forecasting.backtest import rolling_origin
from chalicelib.forecasting.model import MODEL, forecast, holiday_calendar, vehicles_needed


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """`{start, orders: [n a day from start], horizon, stops_per_route, country}` ->
    `{days: [{date, orders_p50, orders_p90, vehicles_needed}], model, backtest}`."""
    start = date.fromisoformat(event["start"])
    orders = [float(n) for n in event["orders"]]
    horizon = int(event.get("horizon", 7))
    years = range(start.year, start.year + len(orders) // 365 + 2)
    holiday = holiday_calendar(event.get("country"), years)
    stops = float(event["stops_per_route"])
    days = forecast(start, orders, horizon, holiday)
    tested = rolling_origin(start, orders, weeks=8, holiday=holiday)
    return {
        "days": [
            {
                "date": d.date,
                "orders_p50": d.p50,
                "orders_p90": d.p90,
                "vehicles_needed": vehicles_needed(d.p90, stops),
            }
            for d in days
        ],
        "model": MODEL,
        "backtest": {
            "mase": round(tested.mase, 3) if tested else None,
            "baseline_mase": round(tested.baseline_mase, 3) if tested else None,
        },
    }
