"""A Lambda function of its own on the optimiser's package (stacks/optimiser.py), for work whose
libraries must stay out of the API's package (label PDFs, the forecast), invoked by the app.

Built in two steps around the Chalice app, as Dispatch is: the construct first, whose
`environment` (the function's fixed name) goes into the app's stage config, then
`connect(api, api_role=...)`, which lets the app's role invoke this function and no other.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import CfnResource, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from chalice.cdk import Chalice
from constructs import Construct

from .optimiser import RUNTIME


@dataclass(frozen=True)
class FunctionSpec:
    name: str  # lastmile-<stage>-<name>
    handler: str
    memory_mb: int
    timeout_s: int
    description: str
    service: str  # POWERTOOLS_SERVICE_NAME
    env_var: str  # where the app's functions read its name
    construct_id: str  # the function's id in the construct tree ("<id>Logs" for its logs)
    logical_id: str  # fixed, as a named resource's should be


class PackagedFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        spec: FunctionSpec,
        stage: str,
        package: lambda_.Code,
        log_removal: RemovalPolicy,
    ) -> None:
        super().__init__(scope, id)
        self.function_name = f"lastmile-{stage}-{spec.name}"
        self.function = lambda_.Function(
            self,
            spec.construct_id,
            function_name=self.function_name,
            description=spec.description,
            runtime=RUNTIME,
            architecture=lambda_.Architecture.X86_64,
            handler=spec.handler,
            code=package,
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_s),
            tracing=lambda_.Tracing.ACTIVE,
            environment={"LASTMILE_STAGE": stage, "POWERTOOLS_SERVICE_NAME": spec.service},
            # Named after the function, whose name is fixed (as the optimiser's).
            log_group=logs.LogGroup(
                self,
                f"{spec.construct_id}Logs",
                log_group_name=f"/aws/lambda/{self.function_name}",
                retention=logs.RetentionDays.ONE_MONTH,
                removal_policy=log_removal,
            ),
        )
        # A named resource keeps its logical id whatever the construct tree becomes; CDK's
        # explicit DependsOn on its role is what cfn-lint reports (W3005), as for the optimiser.
        child = self.function.node.default_child
        assert isinstance(child, CfnResource)
        child.override_logical_id(spec.logical_id)
        child.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})
        # By name, never by reference: the app's functions all share one environment.
        self.environment = {spec.env_var: self.function_name}

    def connect(self, api: Chalice, *, api_role: str) -> None:
        """The app's role may invoke this function (unqualified), nothing else of it."""
        api.get_role(api_role).add_to_principal_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"], resources=[self.function.function_arn]
            )
        )
