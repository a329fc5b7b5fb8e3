"""Forecasts of a depot's daily orders: the model (numpy, the optimiser's package), its
backtest, and what the API side reads and writes around it (numpy-free)."""

FORECASTER = "forecaster"  # the forecasting function's name (lastmile-<stage>-forecaster)
FORECASTER_HANDLER = "chalicelib.forecasting.handler.handler"  # in the optimiser's package
