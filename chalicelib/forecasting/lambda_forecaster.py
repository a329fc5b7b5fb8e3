"""The forecasting function called through the Lambda API (as in AWS, and locally through the
embedded runtime's functions): a synchronous invoke, its error raised as ours."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.domain.errors import DomainError


class ForecastFailed(DomainError):
    code = "forecast_failed"


class LambdaForecaster:
    def __init__(self, lambda_client: Any, function_arn: str) -> None:
        self._lambda = lambda_client
        self._arn = function_arn

    def __call__(self, request: dict[str, Any]) -> dict[str, Any]:
        if not self._arn:
            raise ForecastFailed("no forecasting function (LASTMILE_FORECAST_FUNCTION)")
        answer = self._lambda.invoke(FunctionName=self._arn, Payload=json.dumps(request).encode())
        body = json.loads(answer["Payload"].read() or b"null")
        if answer.get("FunctionError"):
            raise ForecastFailed(f"the forecasting function failed: {body}")
        if not isinstance(body, dict):
            raise ForecastFailed(f"the forecasting function answered {body!r}")
        return body
