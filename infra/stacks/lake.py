"""The data lake: the facts' Parquet copy in S3 (chalicelib/analytics/lake.py), its exporter
function on a schedule, a Glue table over it (partition projection: no crawler, no partitions
to add) and an Athena workgroup whose settings its queries cannot override."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_athena as athena
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from chalicelib.analytics.lake import COLUMNS, KINDS, PREFIX

from .dispatch import _fix_logical_id, _redundant_role_dependency
from .removal import removal_for

RESULTS_PREFIX = "athena-results/"
RESULTS_DAYS = 30  # query results are for reading now, not for keeping
INFREQUENT_AFTER_DAYS = 90  # facts older than a quarter are read by the odd yearly query
GLACIER_IR_AFTER_DAYS = 365
SCAN_LIMIT_BYTES = 10 * 2**30  # a runaway query stops at 10 GiB scanned (about $0.05)
EXPORT_EVERY_MINUTES = 15
FIRST_DAY = "2024-01-01"  # the projection's first day (before any depot existed)
# The facts' columns as Glue (Hive) types, in the files' order (lake.COLUMNS).
GLUE_TYPES = {
    "VARCHAR": "string",
    "TIMESTAMPTZ": "timestamp",
    "MAP(VARCHAR, DOUBLE)": "map<string,double>",
    "MAP(VARCHAR, VARCHAR)": "map<string,string>",
}
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARQUET_IN = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
# What the image is built from: the package and the two requirements files (the rest of the
# repo changes nothing in it).
_IMAGE_SOURCES = [
    "*",
    ".*",
    "!chalicelib",
    "!chalicelib/**",
    "!requirements.lock",
    "!requirements-lake.lock",
    "!infra",
    "infra/*",  # never cdk.out (the image's own staging) nor node_modules: its Dockerfile alone
    "!infra/lake.Dockerfile",
    "__pycache__",
    "*.pyc",
]


class Lake(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        stage: str,
        repo: Path,
        main_table: dynamodb.ITable,
    ) -> None:
        super().__init__(scope, id)
        stack = Stack.of(self)
        removal = removal_for(stage)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="age-facts",
                    prefix=PREFIX,
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                            transition_after=Duration.days(INFREQUENT_AFTER_DAYS),
                        ),
                        s3.Transition(
                            storage_class=s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
                            transition_after=Duration.days(GLACIER_IR_AFTER_DAYS),
                        ),
                    ],
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                ),
                s3.LifecycleRule(
                    id="expire-query-results",
                    prefix=RESULTS_PREFIX,
                    expiration=Duration.days(RESULTS_DAYS),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                ),
            ],
            # Years of facts: a stack's deletion never takes them (as the tables).
            removal_policy=RemovalPolicy.RETAIN,
        )
        _fix_logical_id(self.bucket, "LakeBucket")  # it holds data: never a replacement

        self.database_name = f"lastmile_{stage}"
        database = glue.CfnDatabase(
            self,
            "Database",
            catalog_id=stack.account,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=self.database_name, description="lastmile's analytics facts (the lake)"
            ),
        )
        self.table = glue.CfnTable(
            self,
            "FactsTable",
            catalog_id=stack.account,
            database_name=self.database_name,
            table_input=glue.CfnTable.TableInputProperty(
                name="facts",
                description="One row per fact (docs/analytics.md), partitioned by kind and "
                "the depot-local day",
                table_type="EXTERNAL_TABLE",
                partition_keys=[
                    glue.CfnTable.ColumnProperty(name="kind", type="string"),
                    glue.CfnTable.ColumnProperty(name="day", type="string"),
                ],
                parameters={
                    "classification": "parquet",
                    "EXTERNAL": "TRUE",
                    "projection.enabled": "true",
                    "projection.kind.type": "enum",
                    "projection.kind.values": ",".join(KINDS),
                    "projection.day.type": "date",
                    "projection.day.format": "yyyy-MM-dd",
                    "projection.day.range": f"{FIRST_DAY},NOW+1DAYS",
                    "projection.day.interval": "1",
                    "projection.day.interval.unit": "DAYS",
                    "storage.location.template": (
                        f"s3://{self.bucket.bucket_name}/{PREFIX}kind=${{kind}}/day=${{day}}/"
                    ),
                },
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    location=f"s3://{self.bucket.bucket_name}/{PREFIX}",
                    input_format=PARQUET_IN,
                    output_format=PARQUET_OUT,
                    serde_info=glue.CfnTable.SerdeInfoProperty(serialization_library=PARQUET_SERDE),
                    columns=[
                        glue.CfnTable.ColumnProperty(name=name, type=GLUE_TYPES[kind])
                        for name, kind in COLUMNS
                    ],
                ),
            ),
        )
        self.table.add_dependency(database)

        self.workgroup = athena.CfnWorkGroup(
            self,
            "WorkGroup",
            name=f"lastmile-{stage}",
            description="lastmile's analytics over the lake",
            state="ENABLED",
            recursive_delete_option=stage != "prod",
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=SCAN_LIMIT_BYTES,
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(
                    selected_engine_version="Athena engine version 3"
                ),
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{self.bucket.bucket_name}/{RESULTS_PREFIX}",
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_S3"
                    ),
                ),
            ),
        )

        function_name = f"lastmile-{stage}-lake-export"
        self.exporter = lambda_.DockerImageFunction(
            self,
            "Exporter",
            function_name=function_name,
            description="lastmile lake export: depots' days of facts into Parquet in S3",
            code=lambda_.DockerImageCode.from_image_asset(
                str(repo),
                file="infra/lake.Dockerfile",
                exclude=_IMAGE_SOURCES,
                platform=ecr_assets.Platform.LINUX_AMD64,
            ),
            architecture=lambda_.Architecture.X86_64,
            memory_size=1024,
            timeout=Duration.minutes(5),
            # No reserved concurrency (an account at the default limit could not deploy it):
            # runs that overlap (an async retry) only write the same objects twice.
            environment={
                "LASTMILE_STAGE": stage,
                "LASTMILE_LAKE_BUCKET": self.bucket.bucket_name,
                "LASTMILE_MAIN_TABLE": main_table.table_name,
            },
            log_group=logs.LogGroup(
                self,
                "ExporterLogs",
                log_group_name=f"/aws/lambda/{function_name}",
                retention=logs.RetentionDays.ONE_MONTH,
                removal_policy=removal,
            ),
        )
        _redundant_role_dependency(self.exporter)
        # Least privilege: the facts' and depots' index read, the facts' prefix written.
        self.exporter.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:Query"], resources=[f"{main_table.table_arn}/index/gsi1"]
            )
        )
        self.exporter.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"], resources=[self.bucket.arn_for_objects(f"{PREFIX}*")]
            )
        )
        events.Rule(
            self,
            "ExportSchedule",
            description="the lake export of the days around now",
            schedule=events.Schedule.rate(Duration.minutes(EXPORT_EVERY_MINUTES)),
            targets=[targets.LambdaFunction(self.exporter, retry_attempts=2)],
        )
