"""The lockers as deployed: the pickup-code key every function is told of and may read, the
expiry sweep on its schedule, and the alarms on kiosk lockouts and on the sweep's errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.utils import to_cfn_resource_name

from chalicelib.config import settings
from tests.infra.templates import FUNCTION, arn, as_list, evaluate, resources, statements_for

PICKUP_CODE_SECRET = "lastmile/platform/pickup-code-key"
SWEEP = to_cfn_resource_name("locker_sweep")


def pickup_code_key(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    found = [
        (logical_id, secret)
        for logical_id, secret in resources(template, "AWS::SecretsManager::Secret").items()
        if secret["Properties"]["Name"] == PICKUP_CODE_SECRET
    ]
    assert len(found) == 1, found
    return found[0]


def alarms_on(template: dict[str, Any], namespace: str, metric: str) -> list[dict[str, Any]]:
    return [
        a["Properties"]
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"]["Namespace"] == namespace and a["Properties"]["MetricName"] == metric
    ]


def test_the_pickup_code_key_is_generated_in_secrets_manager(template: dict[str, Any]) -> None:
    logical_id, secret = pickup_code_key(template)
    generated = secret["Properties"]["GenerateSecretString"]
    assert logical_id == "PickupCodeKey"
    assert generated["PasswordLength"] == 64
    assert generated["ExcludePunctuation"] is True
    assert "SecretString" not in secret["Properties"], "never a value in the template"


def test_the_pickup_code_key_outlives_a_prod_stack(template: dict[str, Any]) -> None:
    _, secret = pickup_code_key(template)
    stage = resources(template, FUNCTION)["APIHandler"]["Properties"]["Environment"]["Variables"]
    expected = "Retain" if stage["LASTMILE_STAGE"] == "prod" else "Delete"
    assert secret["DeletionPolicy"] == secret["UpdateReplacePolicy"] == expected


def test_every_function_is_told_the_pickup_code_key_and_may_read_it(
    template: dict[str, Any],
) -> None:
    functions = resources(template, FUNCTION)
    # The API, the outbox consumer that opens sealed codes and the sweep among them.
    assert {"APIHandler", "Notify", SWEEP} <= set(functions)
    for logical_id, function in functions.items():
        env = function["Properties"]["Environment"]["Variables"]
        assert env["LASTMILE_PICKUP_CODE_SECRET_NAME"] == PICKUP_CODE_SECRET, logical_id
        assert function["Properties"]["Role"] == {"Fn::GetAtt": ["DefaultRole", "Arn"]}
    # The name the app falls back to without the variable is the same one.
    assert settings().pickup_code_secret_name == PICKUP_CODE_SECRET

    statements = statements_for(template, "DefaultRole")
    # A secret's ARN is its name and a random suffix: lastmile/* covers it.
    readable = [
        evaluate(s["Resource"])
        for s in statements
        if "secretsmanager:GetSecretValue" in as_list(s["Action"])
    ]
    assert readable == [arn("secretsmanager", "secret:lastmile/*")]
    assert PICKUP_CODE_SECRET.startswith("lastmile/")
    # Only merchants' secrets may be deleted, never the platform's own.
    deletable = [s for s in statements if "secretsmanager:DeleteSecret" in as_list(s["Action"])]
    assert [evaluate(s["Resource"]).split(":secret:")[1] for s in deletable] == [
        "lastmile/merchants/*"
    ]


def test_the_sweep_runs_every_15_minutes(template: dict[str, Any]) -> None:
    sweep = resources(template, FUNCTION)[SWEEP]["Properties"]
    assert sweep["Handler"] == "app.locker_sweep"
    schedules = [e for e in sweep["Events"].values() if e["Type"] == "Schedule"]
    assert [e["Properties"]["Schedule"] for e in schedules] == ["rate(15 minutes)"]


@pytest.mark.parametrize("metric", ["KioskLockouts", "PickupCodeClashes"])
def test_a_kiosk_lockout_or_a_code_clash_alerts_the_operators(
    template: dict[str, Any], metric: str
) -> None:
    [alarm] = alarms_on(template, "lastmile", metric)
    # The dimension set the app emits (Powertools single_metric with service=lastmile), exactly.
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "lastmile"}]
    assert alarm["Statistic"] == "Sum"
    assert alarm["Period"] == 300
    assert alarm["Threshold"] == 1
    assert alarm["EvaluationPeriods"] == 1
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"] == [{"Ref": alarm_topic(template)}]


def test_a_failing_sweep_alerts_the_operators(template: dict[str, Any]) -> None:
    [alarm] = [
        a
        for a in alarms_on(template, "AWS/Lambda", "Errors")
        if a["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": SWEEP}}]
    ]
    assert alarm["Threshold"] == 1 and alarm["Period"] == 300
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["AlarmActions"] == [{"Ref": alarm_topic(template)}]


def alarm_topic(template: dict[str, Any]) -> str:
    topics = resources(template, "AWS::SNS::Topic")
    assert len(topics) == 1, json.dumps(list(topics))
    return next(iter(topics))
