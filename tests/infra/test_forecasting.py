"""The forecasting function in the CDK app (infra/stacks/forecasting.py): the optimiser's
package with its own handler, its name in every app function's environment, invocable by the
app's role, itself allowed nothing but logs and traces."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.forecasting import FORECASTER, FORECASTER_HANDLER
from tests.infra.templates import FUNCTION, as_list, get_att_arn, resources, statements_for
from tests.infra.test_dispatch import lambda_statements, optimiser_id, role_of

FORECASTER_ID = "Forecaster"


def test_the_forecaster_runs_the_optimisers_package_with_its_own_handler(
    template: dict[str, Any], stage: str
) -> None:
    props = template["Resources"][FORECASTER_ID]["Properties"]
    assert props["FunctionName"] == f"lastmile-{stage}-{FORECASTER}"
    assert props["Handler"] == FORECASTER_HANDLER == "chalicelib.forecasting.handler.handler"
    assert props["Runtime"] == "python3.12"
    optimiser = template["Resources"][optimiser_id(template)]["Properties"]
    assert props["Code"] == optimiser["Code"], "one asset: the optimiser's package (numpy)"


def test_every_app_function_is_told_the_forecasters_name(
    template: dict[str, Any], stage: str
) -> None:
    for logical_id, function in resources(template, FUNCTION).items():
        env = function["Properties"]["Environment"]["Variables"]
        assert env["LASTMILE_FORECAST_FUNCTION"] == f"lastmile-{stage}-{FORECASTER}", logical_id
    forecasts = [
        f["Properties"]
        for f in resources(template, FUNCTION).values()
        if f["Properties"]["Handler"] == "app.forecasts"
    ]
    assert len(forecasts) == 1 and forecasts[0]["Timeout"] == 900


def test_the_api_role_may_invoke_the_forecaster(template: dict[str, Any]) -> None:
    invoking = lambda_statements(statements_for(template, "DefaultRole"))
    assert {json.dumps(s["Action"]) for s in invoking} == {'"lambda:InvokeFunction"'}
    assert get_att_arn(FORECASTER_ID) in [r for s in invoking for r in as_list(s["Resource"])]


def test_the_forecaster_may_do_nothing_but_log_and_trace(template: dict[str, Any]) -> None:
    role = role_of(template["Resources"][FORECASTER_ID]["Properties"], "Role")
    actions = {a for s in statements_for(template, role) for a in as_list(s["Action"])}
    assert actions <= {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}, actions
    managed = json.dumps(template["Resources"][role]["Properties"].get("ManagedPolicyArns", []))
    assert "AWSLambdaBasicExecutionRole" in managed
