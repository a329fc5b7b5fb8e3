"""The forecasting Lambda function (chalicelib/forecasting/handler.py): the optimiser's package,
so numpy and holidays stay out of the API's, with a handler of its own. It reads and writes
nothing; the app's `forecasts` schedule invokes it with each depot's history."""

from __future__ import annotations

from chalicelib.forecasting import FORECASTER, FORECASTER_HANDLER

from .packaged_function import FunctionSpec

ENV_VAR = "LASTMILE_FORECAST_FUNCTION"
MEMORY_MB = 512
TIMEOUT_S = 60  # one depot's 400 days: the fit and 16 backtest refits take well under a second

FORECASTING = FunctionSpec(
    name=FORECASTER,
    handler=FORECASTER_HANDLER,
    memory_mb=MEMORY_MB,
    timeout_s=TIMEOUT_S,
    description="lastmile forecast: a depot's next days of orders from its history",
    service="lastmile-forecast",
    env_var=ENV_VAR,
    construct_id="Forecaster",
    logical_id="Forecaster",
)
