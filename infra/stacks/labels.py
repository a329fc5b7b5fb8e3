"""The label renderer Lambda function (chalicelib/labels/renderer.py): the optimiser's package
(stacks/optimiser.py), so reportlab and Pillow stay out of the API's, with a handler of its own.

Built in two steps around the Chalice app, as Dispatch is: `Labels(...)` first, whose
`environment` (the function's fixed name) goes into the app's stage config, then
`connect(api, api_role=...)`, which lets the app's role invoke this function and no other.
"""

from __future__ import annotations

from aws_cdk import CfnResource, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from chalice.cdk import Chalice
from constructs import Construct

from chalicelib.labels.function import (
    RENDERER,
    RENDERER_HANDLER,
    RENDERER_MEMORY_MB,
    RENDERER_TIMEOUT_S,
)

from .optimiser import RUNTIME

ENV_VAR = "LASTMILE_LABEL_RENDERER_FUNCTION"


class Labels(Construct):
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
        self.function_name = f"lastmile-{stage}-{RENDERER}"
        self.renderer = lambda_.Function(
            self,
            "Renderer",
            function_name=self.function_name,
            description="lastmile parcel labels: a sheet of label faces drawn as a PDF",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.X86_64,
            handler=RENDERER_HANDLER,
            code=package,
            memory_size=RENDERER_MEMORY_MB,
            timeout=Duration.seconds(RENDERER_TIMEOUT_S),
            tracing=lambda_.Tracing.ACTIVE,
            environment={"LASTMILE_STAGE": stage, "POWERTOOLS_SERVICE_NAME": "lastmile-labels"},
            # Named after the function, whose name is fixed (as the optimiser's).
            log_group=logs.LogGroup(
                self,
                "RendererLogs",
                log_group_name=f"/aws/lambda/{self.function_name}",
                retention=logs.RetentionDays.ONE_MONTH,
                removal_policy=log_removal,
            ),
        )
        # A named resource keeps its logical id whatever the construct tree becomes; CDK's
        # explicit DependsOn on its role is what cfn-lint reports (W3005), as for the optimiser.
        child = self.renderer.node.default_child
        assert isinstance(child, CfnResource)
        child.override_logical_id("LabelRenderer")
        child.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})
        # By name, never by reference: the app's functions all share one environment.
        self.environment = {ENV_VAR: self.function_name}

    def connect(self, api: Chalice, *, api_role: str) -> None:
        """The app's role may invoke this function (unqualified), nothing else of Lambda."""
        api.get_role(api_role).add_to_principal_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"], resources=[self.renderer.function_arn]
            )
        )
