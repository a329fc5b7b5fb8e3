"""The DynamoDB tables, built from chalicelib/store/schema.py so keys are declared only once."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from chalicelib.store.schema import TABLES, TableSpec

# Every key attribute in the schema is a string (the local runtime creates them as "S" too).
_STRING = dynamodb.AttributeType.STRING


def _key(name: str | None) -> dynamodb.Attribute | None:
    return dynamodb.Attribute(name=name, type=_STRING) if name else None


def build_table(scope: Construct, spec: TableSpec) -> dynamodb.Table:
    """One table as the spec says, with the settings every production table here gets."""
    table = dynamodb.Table(
        scope,
        spec.logical_id,
        partition_key=_key(spec.partition_key),
        sort_key=_key(spec.sort_key),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        time_to_live_attribute=spec.ttl_attribute,
        stream=dynamodb.StreamViewType[spec.stream_view] if spec.stream_view else None,
        # Orders and the outbox are the business's records: deleting the stack must not
        # delete them.
        removal_policy=RemovalPolicy.RETAIN,
    )
    # The schema names the CloudFormation logical id: keeping it fixed means a refactor of this
    # construct tree can never turn into a replacement (a new, empty table).
    cfn_table = table.node.default_child
    assert isinstance(cfn_table, dynamodb.CfnTable)
    cfn_table.override_logical_id(spec.logical_id)
    for index in spec.indexes:
        table.add_global_secondary_index(
            index_name=index.name,
            partition_key=_key(index.partition_key),
            sort_key=_key(index.sort_key),
            projection_type=dynamodb.ProjectionType.ALL,
        )
    return table


def build_tables(scope: Construct) -> dict[str, dynamodb.Table]:
    """Every table of the schema, keyed by the environment variable that carries its name."""
    return {spec.env_var: build_table(scope, spec) for spec in TABLES}
