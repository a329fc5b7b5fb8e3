"""The forecasting Lambda function (chalicelib/forecasting/handler.py): the optimiser's package
(stacks/optimiser.py), so numpy and holidays stay out of the API's, with a handler of its own.
It reads and writes nothing; the app's `forecasts` schedule invokes it with each depot's history.

Built in two steps around the Chalice app, as Labels is: `Forecasting(...)` first, whose
`environment` (the function's fixed name) goes into the app's stage config, then
`connect(api, api_role=...)`, which lets the app's role invoke it.
"""

from __future__ import annotations

from aws_cdk import CfnResource, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from chalice.cdk import Chalice
from constructs import Construct

from chalicelib.forecasting import FORECASTER, FORECASTER_HANDLER

from .optimiser import RUNTIME

ENV_VAR = "LASTMILE_FORECAST_FUNCTION"
MEMORY_MB = 512
TIMEOUT_S = 60  # one depot's 400 days: the fit and 16 backtest refits take well under a second


class Forecasting(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        stage: str,
        package: lambda_.Code,
        log_removal: RemovalPolicy,
    ) -> None:
        super().__init__(scope, id)
        self.function_name = f"lastmile-{stage}-{FORECASTER}"
        self.forecaster = lambda_.Function(
            self,
            "Forecaster",
            function_name=self.function_name,
            description="lastmile forecast: a depot's next days of orders from its history",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.X86_64,
            handler=FORECASTER_HANDLER,
            code=package,
            memory_size=MEMORY_MB,
            timeout=Duration.seconds(TIMEOUT_S),
            tracing=lambda_.Tracing.ACTIVE,
            environment={"LASTMILE_STAGE": stage, "POWERTOOLS_SERVICE_NAME": "lastmile-forecast"},
            log_group=logs.LogGroup(
                self,
                "ForecasterLogs",
                log_group_name=f"/aws/lambda/{self.function_name}",
                retention=logs.RetentionDays.ONE_MONTH,
                removal_policy=log_removal,
            ),
        )
        child = self.forecaster.node.default_child
        assert isinstance(child, CfnResource)
        child.override_logical_id("Forecaster")
        child.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})
        # By name, never by reference: the app's functions all share one environment.
        self.environment = {ENV_VAR: self.function_name}

    def connect(self, api: Chalice, *, api_role: str) -> None:
        """The app's role may invoke this function (the `forecasts` job)."""
        api.get_role(api_role).add_to_principal_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"], resources=[self.forecaster.function_arn]
            )
        )
