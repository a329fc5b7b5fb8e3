"""One deployment stage of lastmile: the Chalice app, its tables, the dispatch workflow, the
lockers' key, its permissions and alarms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsii
from aws_cdk import ArnFormat, CfnOutput, CfnParameter, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as _lambda
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from chalice.cdk import Chalice
from chalice.utils import to_cfn_resource_name
from constructs import Construct

from chalicelib.notify.retry_queues import DEAD_LETTER_QUEUE, MAX_RECEIVES, RETRY_QUEUE, QueueSpec
from chalicelib.store.schema import TABLES

from . import api_package
from .alarms import api_5xx_alarm, dead_letters_alarm, lambda_errors_alarm
from .dispatch import Dispatch
from .forecasting import FORECASTING
from .gateway_responses import add_gateway_responses
from .labels import LABELS
from .lake import Lake
from .lockers import Lockers
from .packaged_function import PackagedFunction
from .removal import removal_for
from .tables import build_tables
from .tracking_map import TrackingMap

REPO_ROOT = Path(__file__).resolve().parents[2]

# Merchants' webhook secrets and the platform's own live under this prefix in Secrets Manager.
SECRETS_PREFIX = "lastmile"

# The resources `chalice package` names in its template (kept as logical ids by the construct).
API_HANDLER = "APIHandler"
NOTIFY_FUNCTION = "notify"  # app.py's outbox stream consumer
NOTIFY_RETRIES_FUNCTION = "notify_retries"  # app.py's consumer of parked outbox work
API_ROLE = "DefaultRole"
REST_API = "RestAPI"


class _PrecompiledChalice(Chalice):
    """Chalice's construct, its package finished by api_package before the construct turns it
    into assets: bytecode in the app's zip, the layer from requirements.lock (trimmed and
    precompiled). `_package_app` is the construct's one packaging step (chalice 1.34, pinned by
    the locks); `lastmile coldstart` builds the same package the same way."""

    def _package_app(self) -> None:
        super()._package_app()
        api_package.finish(REPO_ROOT, Path(self._sam_package_dir))


@jsii.implements(_lambda.IEventSourceDlq)
class _QueueDestination:
    """A stream mapping's on-failure destination. Not `SqsDlq`: it grants the function's role,
    which a Chalice function imported into the construct does not expose; the role is granted
    where it is known (LastmileStack._notify)."""

    def __init__(self, queue: sqs.IQueue) -> None:
        self._queue = queue

    def bind(
        self, target: _lambda.IEventSourceMapping, target_handler: _lambda.IFunction
    ) -> _lambda.DlqDestinationConfig:
        return _lambda.DlqDestinationConfig(destination=self._queue.queue_arn)


class LastmileStack(Stack):
    """A stage (dev, prod) as one CloudFormation stack named `lastmile-<stage>`."""

    def __init__(self, scope: Construct, stage: str, **kwargs: Any) -> None:
        # The construct id must be the stage: the Chalice construct takes its stage name from
        # its scope's path, and picks the stage's settings from .chalice/config.json by it.
        super().__init__(scope, stage, stack_name=f"lastmile-{stage}", **kwargs)
        self.stage = stage

        self.tables = build_tables(self)
        # Parked outbox work and what still fails after its attempts (chalicelib/notify).
        self.dead_letters = self._queue(DEAD_LETTER_QUEUE)
        self.retries = self._queue(
            RETRY_QUEUE,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letters, max_receive_count=MAX_RECEIVES
            ),
        )
        self.alarm_topic = sns.Topic(self, "Alarms", display_name=f"lastmile {stage} alarms")
        # The dispatch workflow's bucket, optimiser, schedule group...: what the app's functions
        # are told about; its state machine joins once the app's functions exist (below).
        self.dispatch = Dispatch(
            self,
            "Dispatch",
            stage=stage,
            repo=REPO_ROOT,
            secrets_prefix=SECRETS_PREFIX,
            alarm_topic=self.alarm_topic,
        )
        # Label PDFs: their own function on the optimiser's package, in the same two steps.
        self.labels = PackagedFunction(
            self,
            "Labels",
            spec=LABELS,
            stage=stage,
            package=self.dispatch.package,
            log_removal=removal_for(stage),
        )
        # The forecast: its own function on the optimiser's package (numpy), the same way.
        self.forecasting = PackagedFunction(
            self,
            "Forecasting",
            spec=FORECASTING,
            stage=stage,
            package=self.dispatch.package,
            log_removal=removal_for(stage),
        )
        # The pickup-code key and the lockers' alarms, in the same two steps.
        self.lockers = Lockers(
            self,
            "Lockers",
            stage=stage,
            secrets_prefix=SECRETS_PREFIX,
            alarm_topic=self.alarm_topic,
        )

        admin_key_sha256 = CfnParameter(
            self,
            "AdminKeySha256",
            description="Hex SHA-256 of the admin API key (the key itself is never deployed).",
            allowed_pattern="^[0-9a-f]{64}$",
            no_echo=True,
            default=self.node.try_get_context("LASTMILE_ADMIN_KEY_SHA256"),
        )
        # Not the API's own URL: that would make the function depend on the API that already
        # depends on it, and tracking links should outlive an API id anyway (custom domain).
        public_base_url = CfnParameter(
            self,
            "PublicBaseUrl",
            description="Base URL of the public API as customers see it (tracking links).",
            allowed_pattern="^https://[^/]+(/.*[^/])?$",
            default=self.node.try_get_context("LASTMILE_PUBLIC_BASE_URL"),
        )

        # The tracking page's map tiles: an Amazon Location key, its value in Secrets Manager.
        self.tracking_map = TrackingMap(
            self,
            "TrackingMap",
            stage=stage,
            secrets_prefix=SECRETS_PREFIX,
            public_base_url=public_base_url.value_as_string,
        )

        environment = {env_var: table.table_name for env_var, table in self.tables.items()}
        environment |= {
            "LASTMILE_SECRETS_PREFIX": SECRETS_PREFIX,
            "LASTMILE_STRIPE_WEBHOOK_SECRET_NAME": f"{SECRETS_PREFIX}/platform/stripe-webhook",
            "LASTMILE_ADMIN_KEY_SHA256": admin_key_sha256.value_as_string,
            "LASTMILE_PUBLIC_BASE_URL": public_base_url.value_as_string,
        }
        environment |= {
            RETRY_QUEUE.env_var: self.retries.queue_url,
            DEAD_LETTER_QUEUE.env_var: self.dead_letters.queue_url,
        }
        environment |= self.dispatch.environment
        environment |= self.lockers.environment
        environment |= self.tracking_map.environment
        environment |= self.labels.environment
        environment |= self.forecasting.environment
        # `chalice package` runs here, with the venv's interpreter: that interpreter (3.12)
        # is what sets the functions' runtime. CDK tokens in the environment survive the round
        # trip through chalice's template and resolve to references at synth.
        # The dependencies go into a layer, built once per requirements.lock (api_package), so
        # a code change repackages only the app's own files.
        self.api = _PrecompiledChalice(
            self,
            "Api",
            source_dir=str(REPO_ROOT),
            stage_config={**api_package.STAGE_CONFIG, "environment_variables": environment},
        )
        self._grant_api_role()
        add_gateway_responses(self.api.get_resource(REST_API))
        # The optimiser (ortools, requirements-optimiser.txt) is its own Lambda function with an
        # isolated package, outside the Chalice app so ortools never reaches the API functions.
        self.dispatch.connect(self.api, api_role=API_ROLE)
        self.lockers.connect(self.api)
        self.labels.connect(self.api, api_role=API_ROLE)
        self.forecasting.connect(self.api, api_role=API_ROLE)
        self._notify()

        # The facts' Parquet copy, its exporter, the Glue table and the Athena workgroup.
        self.lake = Lake(
            self,
            "Lake",
            stage=stage,
            repo=REPO_ROOT,
            main_table=self.tables["LASTMILE_MAIN_TABLE"],
        )

        self._alarms()
        for spec in TABLES:
            CfnOutput(self, f"{spec.logical_id}Name", value=self.tables[spec.env_var].table_name)

    def _queue(self, spec: QueueSpec, **options: Any) -> sqs.Queue:
        return sqs.Queue(
            self,
            spec.logical_id,
            visibility_timeout=Duration.seconds(spec.visibility_timeout_s),
            retention_period=Duration.seconds(spec.retention_s),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            **options,
        )

    def _notify(self) -> None:
        """The outbox table's stream feeds the notify function, which parks what a handler
        failed in the retry queue, read by the notify_retries function. A record whose work
        could not even be parked is reported (ReportBatchItemFailures) and retried, the batch
        bisected to find it; after its retries, or once too old to redrive from the stream
        (which keeps 24 hours), its batch's metadata goes to the dead-letter queue."""
        outbox = next(self.tables[s.env_var] for s in TABLES if s.stream_view)
        _lambda.EventSourceMapping(
            self,
            "NotifyOutboxStream",
            target=self.api.get_function(to_cfn_resource_name(NOTIFY_FUNCTION)),
            event_source_arn=outbox.table_stream_arn,
            starting_position=_lambda.StartingPosition.TRIM_HORIZON,
            batch_size=25,
            report_batch_item_failures=True,
            bisect_batch_on_error=True,
            retry_attempts=10,
            max_record_age=Duration.hours(6),
            on_failure=_QueueDestination(self.dead_letters),
        )
        _lambda.EventSourceMapping(
            self,
            "NotifyRetriesFromQueue",
            target=self.api.get_function(to_cfn_resource_name(NOTIFY_RETRIES_FUNCTION)),
            event_source_arn=self.retries.queue_arn,
            batch_size=10,
            report_batch_item_failures=True,
        )
        # Both functions share the API role: the stream's failures and parked work are sent,
        # the retry queue read, and the dead letters read by the operators' redrive.
        role = self.api.get_role(API_ROLE)
        for queue in (self.retries, self.dead_letters):
            queue.grant_send_messages(role)
            queue.grant_consume_messages(role)
        dead_letters_alarm(self, self.alarm_topic, self.dead_letters)
        # SMS go to phone numbers, which have no ARN to scope Publish to.
        self.api.get_role(API_ROLE).add_to_principal_policy(
            iam.PolicyStatement(
                actions=["sns:Publish", "sns:CheckIfPhoneNumberIsOptedOut"], resources=["*"]
            )
        )

    def _grant_api_role(self) -> None:
        role = self.api.get_role(API_ROLE)
        for spec in TABLES:
            table = self.tables[spec.env_var]
            table.grant_read_write_data(role)  # the indexes too
            if spec.stream_view:
                # For the outbox consumer (notify/), a Chalice handler sharing this role.
                table.grant_stream_read(role)
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "secretsmanager:GetSecretValue",
                    "secretsmanager:CreateSecret",
                    "secretsmanager:PutSecretValue",
                    "secretsmanager:UpdateSecret",
                ],
                resources=[self._secret_arn(f"{SECRETS_PREFIX}/*")],
            )
        )
        # Addresses without coordinates are geocoded (chalicelib/geocoding/amazon_location.py).
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["geo-places:Geocode"], resources=["*"])
        )
        # Only merchants' secrets may be deleted (undoing a half-created merchant), never the
        # platform's own.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["secretsmanager:DeleteSecret"],
                resources=[self._secret_arn(f"{SECRETS_PREFIX}/merchants/*")],
            )
        )

    def _secret_arn(self, name_pattern: str) -> str:
        return self.format_arn(
            service="secretsmanager",
            resource="secret",
            resource_name=name_pattern,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )

    def _alarms(self) -> None:
        topic = self.alarm_topic
        CfnOutput(self, "AlarmTopicArn", value=topic.topic_arn)

        # Name the API ourselves: the 5xx metric is keyed by API name, which would otherwise
        # be whatever API Gateway takes from the swagger title.
        rest_api = self.api.get_resource(REST_API)
        api_name = f"lastmile-{self.stage}"
        rest_api.add_property_override("Name", api_name)
        api_stage = rest_api.stage_name  # chalice's api_gateway_stage for this stage
        api_5xx_alarm(self, topic, api_name=api_name, api_stage=api_stage)

        handler = self.api.get_resource(API_HANDLER)
        lambda_errors_alarm(self, topic, id="ApiHandlerErrorsAlarm", function_name=handler.ref)
        lambda_errors_alarm(
            self,
            topic,
            id="ForecasterErrorsAlarm",
            function_name=self.forecasting.function_name,
        )
