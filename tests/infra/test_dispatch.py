"""The dispatch workflow as deployed: the state machine from the ASL file on the functions that
chalicelib/dispatch/workflow.py names, the optimiser, the schedules' role, the app's wiring."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from chalice.utils import to_cfn_resource_name

from chalicelib.dispatch import workflow
from tests.infra.cloud_assembly import STAGES, CloudAssembly
from tests.infra.templates import (
    FUNCTION,
    LAMBDA,
    allows,
    arn,
    as_list,
    evaluate,
    get_att_arn,
    resources,
    statements_for,
    the_one,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
STATE_MACHINE = "AWS::StepFunctions::StateMachine"
TICK = "dispatch_tick"
DRIVER_TOKEN_SECRET = "lastmile/platform/driver-token-key"
PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")


DISPATCH_BUCKET = "DispatchBucket"  # its fixed logical id (the lake has a bucket of its own)


def optimiser_id(template: dict[str, Any]) -> str:
    """The one function of the CDK app's own whose handler is the optimiser's."""
    found = [
        logical_id
        for logical_id, function in resources(template, LAMBDA).items()
        if function["Properties"].get("Handler") == workflow.OPTIMISER_HANDLER
    ]
    assert len(found) == 1, found
    return found[0]


def intended_function(template: dict[str, Any], entry_point: str) -> str:
    """The logical id of the function a workflow.FUNCTIONS entry point names: the optimiser,
    or the Chalice lambda_function of that name (chalice's own naming of its resources)."""
    if entry_point == workflow.OPTIMISER:
        return optimiser_id(template)
    logical_id = to_cfn_resource_name(entry_point)
    function = template["Resources"].get(logical_id)
    assert function and function["Type"] == FUNCTION, f"no Chalice function {entry_point}"
    return logical_id


def chalice_function_id(template: dict[str, Any], entry_point: str) -> str:
    logical_id = to_cfn_resource_name(entry_point)
    assert template["Resources"][logical_id]["Type"] == FUNCTION
    return logical_id


def role_of(props: dict[str, Any], key: str) -> str:
    get_att = props[key]["Fn::GetAtt"]
    assert get_att[1] == "Arn"
    return get_att[0]


def lambda_statements(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Statements that allow anything on Lambda (or everything)."""
    return [
        s
        for s in statements
        if s["Effect"] == "Allow"
        and any(a == "*" or a.startswith("lambda:") for a in as_list(s["Action"]))
    ]


def test_the_state_machine_is_the_asl_file_on_the_intended_functions(
    template: dict[str, Any], stage: str
) -> None:
    _, props = the_one(template, STATE_MACHINE)
    asl_text = workflow.ASL_PATH.read_text()

    assert props["StateMachineName"] == f"lastmile-{stage}-{workflow.STATE_MACHINE_NAME}"
    # Deployed as the file says, as an object (what cfn-lint validates as ASL).
    assert props["Definition"] == json.loads(asl_text)
    assert "DefinitionString" not in props and "DefinitionS3Location" not in props
    # Every placeholder of the file, and only those, is substituted...
    assert set(PLACEHOLDER.findall(asl_text)) == set(workflow.FUNCTIONS)
    substitutions = props["DefinitionSubstitutions"]
    assert set(substitutions) == set(workflow.FUNCTIONS)
    # ... by the ARN of the function workflow.py names for it.
    for placeholder, entry_point in workflow.FUNCTIONS.items():
        expected = get_att_arn(intended_function(template, entry_point))
        assert substitutions[placeholder] == expected, placeholder
    # The functions are distinct: no two placeholders share one.
    assert len({json.dumps(v) for v in substitutions.values()}) == len(workflow.FUNCTIONS)


def test_the_state_machine_traces_and_logs_errors_only(template: dict[str, Any]) -> None:
    _, props = the_one(template, STATE_MACHINE)
    assert props["TracingConfiguration"] == {"Enabled": True}
    logging = props["LoggingConfiguration"]
    assert logging["Level"] == "ERROR"
    assert logging["IncludeExecutionData"] is False
    [destination] = logging["Destinations"]
    log_group = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    assert template["Resources"][log_group]["Type"] == "AWS::Logs::LogGroup"


def test_the_state_machine_may_invoke_those_functions_and_nothing_else(
    template: dict[str, Any],
) -> None:
    _, props = the_one(template, STATE_MACHINE)
    role = role_of(props, "RoleArn")
    trust = template["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "states.amazonaws.com"}]

    invoking = lambda_statements(statements_for(template, role))
    assert len(invoking) == 1
    assert as_list(invoking[0]["Action"]) == ["lambda:InvokeFunction"]
    expected = [
        get_att_arn(intended_function(template, name)) for name in workflow.FUNCTIONS.values()
    ]
    granted = as_list(invoking[0]["Resource"])
    assert sorted(map(json.dumps, granted)) == sorted(map(json.dumps, expected))


def test_the_optimiser_function_is_sized_as_workflow_says(template: dict[str, Any]) -> None:
    optimiser = template["Resources"][optimiser_id(template)]
    props = optimiser["Properties"]

    assert props["Handler"] == workflow.OPTIMISER_HANDLER
    assert props["MemorySize"] == workflow.OPTIMISER_MEMORY_MB
    assert props["Timeout"] == workflow.OPTIMISER_TIMEOUT_S
    # The longest solve a depot policy may ask for, plus loading and saving, must fit.
    assert props["Timeout"] > workflow.MAX_SOLVER_TIME_LIMIT_S
    assert props["Runtime"] == "python3.12"
    assert props["Architectures"] == ["x86_64"]
    # A package of its own, not the Chalice app's.
    chalice_code = {
        json.dumps(f["Properties"]["CodeUri"]) for f in resources(template, FUNCTION).values()
    }
    assert json.dumps(props["Code"]) not in chalice_code


def test_the_optimiser_reads_and_writes_the_runs_in_the_bucket(template: dict[str, Any]) -> None:
    bucket = DISPATCH_BUCKET
    optimiser = template["Resources"][optimiser_id(template)]
    env = optimiser["Properties"]["Environment"]["Variables"]
    assert env["LASTMILE_DISPATCH_BUCKET"] == {"Ref": bucket}
    assert env["POWERTOOLS_SERVICE_NAME"] == "lastmile-optimiser"

    statements = statements_for(template, role_of(optimiser["Properties"], "Role"))
    runs = {"Fn::Join": ["", [get_att_arn(bucket), "/runs/*"]]}
    for action in ("s3:GetObject*", "s3:PutObject"):
        assert allows(statements, action, runs), action
    # It invokes nothing.
    assert lambda_statements(statements) == []


def test_the_dispatch_settings_reach_every_chalice_function(
    template: dict[str, Any], stage: str
) -> None:
    bucket = DISPATCH_BUCKET
    group, group_props = the_one(template, "AWS::Scheduler::ScheduleGroup")
    _, machine = the_one(template, STATE_MACHINE)
    [secret] = [
        s["Properties"]
        for s in resources(template, "AWS::SecretsManager::Secret").values()
        if s["Properties"]["Name"] == DRIVER_TOKEN_SECRET
    ]
    tick = template["Resources"][chalice_function_id(template, TICK)]
    scheduler_role = scheduler_role_id(template)

    # The state machine's ARN as AWS forms it from its name (what `Ref` gives at deploy),
    # and the tick function's from the name the override gives it.
    machine_arn = arn("states", f"stateMachine:{machine['StateMachineName']}")
    tick_arn = arn("lambda", f"function:{tick['Properties']['FunctionName']}")
    assert group_props["Name"] == f"lastmile-{stage}"
    assert secret["GenerateSecretString"]["PasswordLength"] == 64

    functions = resources(template, FUNCTION)
    assert "DispatchCollect" in functions and "APIHandler" in functions
    for logical_id, function in functions.items():
        env = function["Properties"]["Environment"]["Variables"]
        assert env["LASTMILE_DISPATCH_BUCKET"] == {"Ref": bucket}, logical_id
        assert evaluate(env["LASTMILE_DISPATCH_STATE_MACHINE_ARN"]) == machine_arn, logical_id
        assert evaluate(env["LASTMILE_DISPATCH_TICK_ARN"]) == tick_arn, logical_id
        assert env["LASTMILE_SCHEDULE_GROUP"] == {"Ref": group}, logical_id
        assert env["LASTMILE_SCHEDULER_ROLE_ARN"] == get_att_arn(scheduler_role), logical_id
        assert env["LASTMILE_DRIVER_TOKEN_SECRET_NAME"] == DRIVER_TOKEN_SECRET, logical_id


def scheduler_role_id(template: dict[str, Any]) -> str:
    found = [
        logical_id
        for logical_id, role in resources(template, "AWS::IAM::Role").items()
        if "scheduler.amazonaws.com" in json.dumps(role["Properties"]["AssumeRolePolicyDocument"])
    ]
    assert len(found) == 1, found
    return found[0]


def test_the_scheduler_role_may_invoke_the_tick_function_only(template: dict[str, Any]) -> None:
    role_id = scheduler_role_id(template)
    role = template["Resources"][role_id]["Properties"]
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Effect"] == "Allow"
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    assert "ManagedPolicyArns" not in role and "Policies" not in role

    statements = statements_for(template, role_id)
    tick = get_att_arn(chalice_function_id(template, TICK))
    assert statements == [{"Action": "lambda:InvokeFunction", "Effect": "Allow", "Resource": tick}]


def test_the_api_role_may_run_dispatch_and_manage_the_schedules(
    template: dict[str, Any], stage: str
) -> None:
    statements = statements_for(template, "DefaultRole")
    machine, machine_props = the_one(template, STATE_MACHINE)
    bucket = DISPATCH_BUCKET
    name = machine_props["StateMachineName"]

    assert allows(statements, "states:StartExecution", {"Ref": machine})
    [describe] = [s for s in statements if "states:DescribeExecution" in as_list(s["Action"])]
    assert evaluate(describe["Resource"]) == arn("states", f"execution:{name}:*")
    # The reaper stops an execution that overran, of this state machine only.
    assert "states:StopExecution" in as_list(describe["Action"])

    objects = {"Fn::Join": ["", [get_att_arn(bucket), "/*"]]}
    for action in ("s3:GetObject*", "s3:PutObject", "s3:DeleteObject*"):
        assert allows(statements, action, objects), action

    [schedules] = [s for s in statements if "scheduler:CreateSchedule" in as_list(s["Action"])]
    assert set(as_list(schedules["Action"])) == {
        "scheduler:CreateSchedule",
        "scheduler:UpdateSchedule",
        "scheduler:DeleteSchedule",
        "scheduler:GetSchedule",
    }
    assert evaluate(schedules["Resource"]) == arn("scheduler", f"schedule/lastmile-{stage}/*")
    # What DepotSchedules.sync also calls (no resource-level permission for it).
    assert allows(statements, "scheduler:ListSchedules", "*")

    [pass_role] = [s for s in statements if "iam:PassRole" in as_list(s["Action"])]
    assert pass_role["Resource"] == get_att_arn(scheduler_role_id(template))
    assert pass_role["Condition"] == {
        "StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}
    }
    # The app's functions invoke no function of the workflow themselves: the schedules' role
    # does. (They invoke the label renderer and the forecaster alone: tests/infra/test_labels.py,
    # test_forecasting.py.)
    invoked = [r for s in lambda_statements(statements) for r in as_list(s["Resource"])]
    assert sorted(invoked, key=str) == [get_att_arn("Forecaster"), get_att_arn("LabelRenderer")]


def test_the_bucket_is_private_encrypted_and_expires_runs(template: dict[str, Any]) -> None:
    bucket_id = DISPATCH_BUCKET
    props = template["Resources"][bucket_id]["Properties"]
    bucket = template["Resources"][bucket_id]

    assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == "Retain"
    [encryption] = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    [rule] = props["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled" and rule["ExpirationInDays"] == 30

    policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in resources(template, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    assert any(
        s["Effect"] == "Deny"
        and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        and s["Principal"] == {"AWS": "*"}
        for statements in policies
        for s in statements
    )


def test_alarms_watch_the_runs_and_the_optimiser(template: dict[str, Any]) -> None:
    machine, _ = the_one(template, STATE_MACHINE)
    watched = {
        (
            a["Properties"]["Namespace"],
            a["Properties"]["MetricName"],
            json.dumps(a["Properties"]["Dimensions"]),
        ): a["Properties"]
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
    }

    def alarm(namespace: str, metric: str, name: str, value: Any) -> dict[str, Any]:
        props = watched[(namespace, metric, json.dumps([{"Name": name, "Value": value}]))]
        assert props["Threshold"] == 1
        assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert props["AlarmActions"]
        return props

    alarm("AWS/States", "ExecutionsFailed", "StateMachineArn", {"Ref": machine})
    alarm("AWS/States", "ExecutionsTimedOut", "StateMachineArn", {"Ref": machine})
    alarm("AWS/Lambda", "Errors", "FunctionName", {"Ref": optimiser_id(template)})
    alarm("AWS/Lambda", "Errors", "FunctionName", {"Ref": chalice_function_id(template, TICK)})
    reaper = chalice_function_id(template, workflow.REAPER)
    alarm("AWS/Lambda", "Errors", "FunctionName", {"Ref": reaper})
    # The app's own count of reaped runs, with the dimension set the reaper emits, exactly.
    reaped = alarm("lastmile", "DispatchRunsReaped", "service", "lastmile")
    assert (reaped["Statistic"], reaped["Period"]) == ("Sum", 300)
    assert reaped["TreatMissingData"] == "notBreaching"


def test_the_reaper_sweeps_every_five_minutes_one_at_a_time(template: dict[str, Any]) -> None:
    reaper = template["Resources"][chalice_function_id(template, workflow.REAPER)]["Properties"]
    assert reaper["Handler"] == f"app.{workflow.REAPER}"
    schedules = [e for e in reaper["Events"].values() if e["Type"] == "Schedule"]
    assert [e["Properties"]["Schedule"] for e in schedules] == ["rate(5 minutes)"]
    assert reaper["ReservedConcurrentExecutions"] == 1
    # It waits out the release of a big run (what the Release task may take).
    assert reaper["Timeout"] >= 600


def test_the_reaper_knows_the_state_machine_timeout() -> None:
    asl = json.loads(workflow.ASL_PATH.read_text())
    assert asl["TimeoutSeconds"] == workflow.EXECUTION_TIMEOUT_S


def test_outputs_name_the_state_machine_and_the_bucket(template: dict[str, Any]) -> None:
    machine, _ = the_one(template, STATE_MACHINE)
    bucket = DISPATCH_BUCKET
    outputs = {k: o["Value"] for k, o in template["Outputs"].items()}
    assert outputs["DispatchStateMachineArn"] == {"Ref": machine}
    assert outputs["DispatchBucketName"] == {"Ref": bucket}


def test_the_test_synth_leaves_the_optimiser_unbundled(assembly: CloudAssembly) -> None:
    """No pip install of ortools on every test run: the asset points at its sources (which
    only a skipped bundling does), under the hash a deploy's bundled package gets too."""
    for stage in STAGES:
        template = assembly.template(stage)
        key = template["Resources"][optimiser_id(template)]["Properties"]["Code"]["S3Key"]
        manifest = json.loads((assembly.outdir / f"{stage}.assets.json").read_text())
        source = manifest["files"][key.removesuffix(".zip")]["source"]
        assert source["packaging"] == "zip"
        assert (assembly.outdir / source["path"]).resolve() == REPO_ROOT
