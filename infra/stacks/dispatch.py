"""The dispatch workflow's infrastructure: the bucket of problems and plans, the optimiser
function, the state machine (statemachines/dispatch.asl.json) on the app's task functions,
the schedule group the app fills with one schedule per depot, and the driver token key.

Built in two steps around the Chalice app, whose functions all get one environment:
`Dispatch(...)` first, whose `environment` goes into the app's stage config, then
`connect(api)`, which needs the app's functions. The app's environment names the state
machine and the tick function by ARNs built from their fixed names, never by reference: the
state machine refers to the app's functions, so a reference back would be a cycle.
"""

from __future__ import annotations

import json
from pathlib import Path

from aws_cdk import ArnFormat, CfnOutput, CfnResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from chalice.cdk import Chalice
from chalice.utils import to_cfn_resource_name
from constructs import Construct

from chalicelib.dispatch import workflow

from .alarms import (
    DISPATCH_RUNS_REAPED,
    app_metric_alarm,
    lambda_errors_alarm,
    state_machine_alarms,
)
from .optimiser import optimiser_function, optimiser_package
from .removal import removal_for

# The Chalice lambda_function that the depots' schedules invoke: {depot_id, trigger}.
TICK_FUNCTION = workflow.TICK
REAPER_FUNCTION = workflow.REAPER  # app.py's @app.schedule
ARTIFACT_DAYS = 30
SCHEDULER = "scheduler.amazonaws.com"


def _fix_logical_id(construct: Construct, logical_id: str) -> None:
    # Named or data-holding resources keep their logical id whatever the construct tree becomes:
    # a changed id is a replacement, and a replacement of a named resource fails on its name.
    child = construct.node.default_child
    assert isinstance(child, CfnResource)
    child.override_logical_id(logical_id)


def _redundant_role_dependency(construct: Construct) -> None:
    # CDK's Function and StateMachine depend on their role explicitly (DependsOn) as well as by
    # GetAtt, which cfn-lint reports (W3005). The DependsOn also carries the role's policy, so
    # it stays; the warning, only on these resources, goes.
    child = construct.node.default_child
    assert isinstance(child, CfnResource)
    child.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})


class Dispatch(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        stage: str,
        repo: Path,
        secrets_prefix: str,
        alarm_topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, id)
        stack = Stack.of(self)
        self.stage = stage
        self._topic = alarm_topic
        removal = removal_for(stage)

        self.state_machine_name = f"lastmile-{stage}-{workflow.STATE_MACHINE_NAME}"
        self.tick_function_name = f"lastmile-{stage}-{TICK_FUNCTION}"
        self.schedule_group_name = f"lastmile-{stage}"
        self.driver_token_secret_name = f"{secrets_prefix}/platform/driver-token-key"

        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-runs",
                    expiration=Duration.days(ARTIFACT_DAYS),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            # As the tables: a stack's deletion never takes data with it (and the objects
            # expire anyway). Unnamed, so a new stack makes a new bucket.
            removal_policy=RemovalPolicy.RETAIN,
        )
        _fix_logical_id(self.bucket, "DispatchBucket")

        # One asset of the optimiser's package for the stack: the label renderer runs it too.
        self.package = optimiser_package(repo)
        self.optimiser = optimiser_function(
            self,
            "Optimiser",
            code=self.package,
            function_name=f"lastmile-{stage}-{workflow.OPTIMISER}",
            environment={
                "LASTMILE_STAGE": stage,
                "LASTMILE_DISPATCH_BUCKET": self.bucket.bucket_name,
                "POWERTOOLS_SERVICE_NAME": "lastmile-optimiser",
            },
            log_removal=removal,
        )
        _fix_logical_id(self.optimiser, "Optimiser")
        _redundant_role_dependency(self.optimiser)
        self.bucket.grant_read_write(self.optimiser, "runs/*")

        # Drivers' route tokens are HMACs under this key (chalicelib/dispatch/driver_tokens.py).
        # The app's role may already read every secret under the prefix.
        self.driver_token_key = secretsmanager.Secret(
            self,
            "DriverTokenKey",
            secret_name=self.driver_token_secret_name,
            description="HMAC key of drivers' route tokens",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
            removal_policy=removal,
        )
        _fix_logical_id(self.driver_token_key, "DriverTokenKey")

        # The app creates one schedule per depot policy in this group at run time.
        self.schedule_group = scheduler.CfnScheduleGroup(
            self, "ScheduleGroup", name=self.schedule_group_name
        )
        self.schedule_group.override_logical_id("DispatchScheduleGroup")
        self.scheduler_role = iam.Role(
            self,
            "SchedulerRole",
            description="Assumed by EventBridge Scheduler to invoke the dispatch tick function",
            assumed_by=iam.ServicePrincipal(
                SCHEDULER, conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
        )
        _fix_logical_id(self.scheduler_role, "DispatchSchedulerRole")

        self.state_machine_arn = stack.format_arn(
            service="states",
            resource="stateMachine",
            resource_name=self.state_machine_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.tick_function_arn = stack.format_arn(
            service="lambda",
            resource="function",
            resource_name=self.tick_function_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self._removal = removal
        self.environment = {
            "LASTMILE_DISPATCH_BUCKET": self.bucket.bucket_name,
            "LASTMILE_DISPATCH_STATE_MACHINE_ARN": self.state_machine_arn,
            "LASTMILE_DISPATCH_TICK_ARN": self.tick_function_arn,
            "LASTMILE_SCHEDULE_GROUP": self.schedule_group.ref,  # its name
            "LASTMILE_SCHEDULER_ROLE_ARN": self.scheduler_role.role_arn,
            "LASTMILE_DRIVER_TOKEN_SECRET_NAME": self.driver_token_secret_name,
        }

    def connect(self, api: Chalice, *, api_role: str) -> None:
        """The state machine on the app's functions, and what the app's role may do here."""
        tick = api.get_resource(to_cfn_resource_name(TICK_FUNCTION))
        tick.add_property_override("FunctionName", self.tick_function_name)
        # The scheduler role's policy is its own resource, so the tick function (whose
        # environment names the role) and the policy (which names the function) make no cycle.
        self.scheduler_role.add_to_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=[api.get_function(to_cfn_resource_name(TICK_FUNCTION)).function_arn],
            )
        )

        self.state_machine = self._state_machine(api)
        self._grant(api.get_role(api_role))

        state_machine_alarms(self, self._topic, self.state_machine)
        lambda_errors_alarm(
            self,
            self._topic,
            id="OptimiserErrorsAlarm",
            function_name=self.optimiser.function_name,
        )
        # Schedules invoke the tick asynchronously: its errors show nowhere else.
        lambda_errors_alarm(self, self._topic, id="TickErrorsAlarm", function_name=tick.ref)
        # The reaper: each run it releases, and the reaper itself failing (a run left held).
        metric_name, what = DISPATCH_RUNS_REAPED
        app_metric_alarm(
            self,
            self._topic,
            id="DispatchRunsReapedAlarm",
            metric_name=metric_name,
            what=what,
        )
        reaper = api.get_resource(to_cfn_resource_name(REAPER_FUNCTION))
        lambda_errors_alarm(self, self._topic, id="ReaperErrorsAlarm", function_name=reaper.ref)
        stack = Stack.of(self)
        CfnOutput(stack, "DispatchStateMachineArn", value=self.state_machine.state_machine_arn)
        CfnOutput(stack, "DispatchBucketName", value=self.bucket.bucket_name)

    def _task_functions(self, api: Chalice) -> dict[str, lambda_.IFunction]:
        """Each placeholder of the definition -> the function it names (workflow.FUNCTIONS)."""
        return {
            placeholder: (
                self.optimiser
                if name == workflow.OPTIMISER
                else api.get_function(to_cfn_resource_name(name))
            )
            for placeholder, name in workflow.FUNCTIONS.items()
        }

    def _state_machine(self, api: Chalice) -> sfn.StateMachine:
        functions = self._task_functions(api)
        definition = workflow.ASL_PATH.read_text()
        log_group = logs.LogGroup(
            self,
            "StateMachineLogs",
            # Under /aws/vendedlogs/ Step Functions needs no CloudWatch Logs resource policy.
            log_group_name=f"/aws/vendedlogs/states/{self.state_machine_name}",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=self._removal,
        )
        state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=self.state_machine_name,
            definition_body=sfn.DefinitionBody.from_string(definition),
            definition_substitutions={
                placeholder: function.function_arn for placeholder, function in functions.items()
            },
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=log_group, level=sfn.LogLevel.ERROR, include_execution_data=False
            ),
        )
        _fix_logical_id(state_machine, "DispatchStateMachine")
        # The definition inline as an object, not the string CDK writes (nor the S3 asset of
        # DefinitionBody.from_file): cfn-lint validates only an object's ASL.
        cfn = state_machine.node.default_child
        assert isinstance(cfn, sfn.CfnStateMachine)
        cfn.add_property_deletion_override("DefinitionString")
        cfn.add_property_override("Definition", json.loads(definition))
        _redundant_role_dependency(state_machine)
        # Exactly the task functions, unqualified: the definition invokes them by plain ARN.
        state_machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=list(dict.fromkeys(f.function_arn for f in functions.values())),
            )
        )
        return state_machine

    def _grant(self, role: iam.IRole) -> None:
        stack = Stack.of(self)
        self.state_machine.grant_start_execution(role)
        # Describe: the reaper asks how a held run's execution stands; Stop: one that overran.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["states:DescribeExecution", "states:StopExecution"],
                resources=[
                    stack.format_arn(
                        service="states",
                        resource="execution",
                        resource_name=f"{self.state_machine_name}:*",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            )
        )
        self.bucket.grant_read_write(role)
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "scheduler:CreateSchedule",
                    "scheduler:UpdateSchedule",
                    "scheduler:DeleteSchedule",
                    "scheduler:GetSchedule",
                ],
                resources=[
                    stack.format_arn(
                        service="scheduler",
                        resource="schedule",
                        resource_name=f"{self.schedule_group_name}/*",
                        arn_format=ArnFormat.SLASH_RESOURCE_NAME,
                    )
                ],
            )
        )
        # DepotSchedules.sync lists a depot's schedules (by name prefix, in the group) to delete
        # those its policy no longer asks for; ListSchedules has no resource-level permission.
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["scheduler:ListSchedules"], resources=["*"])
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.scheduler_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": SCHEDULER}},
            )
        )
