"""The label renderer as deployed: its own function on the optimiser's package with the
handler labels/function.py names, its name in every app function's environment, and the API
role allowed to invoke it and no other function."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.labels.function import (
    RENDERER,
    RENDERER_HANDLER,
    RENDERER_MEMORY_MB,
    RENDERER_TIMEOUT_S,
)
from tests.infra.templates import FUNCTION, LAMBDA, as_list, get_att_arn, resources, statements_for
from tests.infra.test_dispatch import lambda_statements, optimiser_id, role_of

RENDERER_ID = "LabelRenderer"


def test_the_renderer_runs_the_optimisers_package_with_its_own_handler(
    template: dict[str, Any], stage: str
) -> None:
    props = template["Resources"][RENDERER_ID]["Properties"]
    assert props["FunctionName"] == f"lastmile-{stage}-{RENDERER}"
    assert props["Handler"] == RENDERER_HANDLER == "chalicelib.labels.renderer.handler"
    assert props["MemorySize"] == RENDERER_MEMORY_MB
    assert props["Timeout"] == RENDERER_TIMEOUT_S < 29, "inside API Gateway's 29 s"
    assert props["Runtime"] == "python3.12" and props["Architectures"] == ["x86_64"]
    optimiser = template["Resources"][optimiser_id(template)]["Properties"]
    assert props["Code"] == optimiser["Code"], "one asset: the optimiser's package"
    chalice_code = [f["Properties"]["CodeUri"] for f in resources(template, FUNCTION).values()]
    assert props["Code"] not in chalice_code
    assert len(resources(template, LAMBDA)) >= 2


def test_every_app_function_is_told_the_renderers_name(
    template: dict[str, Any], stage: str
) -> None:
    functions = resources(template, FUNCTION)
    assert "APIHandler" in functions
    for logical_id, function in functions.items():
        env = function["Properties"]["Environment"]["Variables"]
        assert env["LASTMILE_LABEL_RENDERER_FUNCTION"] == f"lastmile-{stage}-{RENDERER}", logical_id


def test_the_api_role_may_invoke_the_renderer_and_no_other_function(
    template: dict[str, Any],
) -> None:
    """Besides the forecaster (tests/infra/test_forecasting.py)."""
    invoking = lambda_statements(statements_for(template, "DefaultRole"))
    assert {json.dumps(s["Action"]) for s in invoking} == {'"lambda:InvokeFunction"'}
    resources_ = [r for s in invoking for r in as_list(s["Resource"])]
    assert sorted(resources_, key=str) == [get_att_arn(n) for n in ("Forecaster", RENDERER_ID)]


def test_the_renderer_may_do_nothing_but_log_and_trace(template: dict[str, Any]) -> None:
    props = template["Resources"][RENDERER_ID]["Properties"]
    role = role_of(props, "Role")
    actions = {a for s in statements_for(template, role) for a in as_list(s["Action"])}
    assert actions <= {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}, actions
    managed = json.dumps(template["Resources"][role]["Properties"].get("ManagedPolicyArns", []))
    assert "AWSLambdaBasicExecutionRole" in managed and "Admin" not in managed
