"""The lake as deployed: a private, encrypted bucket whose facts age into cheaper storage, a
Glue table over the exporter's files with partition projection on kind and day (no crawler),
an Athena workgroup that enforces where results go, and an exporter that may read the facts'
index and write the facts' prefix, nothing else."""

from __future__ import annotations

from typing import Any

from chalicelib.analytics.lake import COLUMNS, KINDS, PREFIX, object_key
from tests.infra.templates import LAMBDA, as_list, resources, statements_for, the_one

LAKE_BUCKET = "LakeBucket"


def exporter(template: dict[str, Any]) -> dict[str, Any]:
    [found] = [
        f["Properties"]
        for f in resources(template, LAMBDA).values()
        if f["Properties"].get("PackageType") == "Image"
    ]
    return found


def test_the_lake_bucket_is_private_encrypted_and_ages_its_facts(
    template: dict[str, Any],
) -> None:
    bucket = template["Resources"][LAKE_BUCKET]
    props = bucket["Properties"]
    assert bucket["DeletionPolicy"] == "Retain"
    [encryption] = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert len(props["PublicAccessBlockConfiguration"]) == 4
    rules = {r["Id"]: r for r in props["LifecycleConfiguration"]["Rules"]}
    facts = rules["age-facts"]
    assert facts["Prefix"] == PREFIX and "ExpirationInDays" not in facts  # facts are kept
    assert [t["StorageClass"] for t in facts["Transitions"]] == ["STANDARD_IA", "GLACIER_IR"]
    results = rules["expire-query-results"]
    assert results["Prefix"] == "athena-results/" and results["ExpirationInDays"] == 30
    denies = [
        s
        for p in resources(template, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": LAKE_BUCKET}
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in denies)


def test_the_glue_table_projects_the_exporters_partitions(template: dict[str, Any]) -> None:
    _, database = the_one(template, "AWS::Glue::Database")
    _, table = the_one(template, "AWS::Glue::Table")
    assert table["DatabaseName"] == database["DatabaseInput"]["Name"]
    given = table["TableInput"]
    assert [k["Name"] for k in given["PartitionKeys"]] == ["kind", "day"]
    params = given["Parameters"]
    assert params["projection.enabled"] == "true"
    assert params["projection.kind.type"] == "enum"
    assert params["projection.kind.values"].split(",") == list(KINDS)
    assert params["projection.day.type"] == "date"
    assert params["projection.day.format"] == "yyyy-MM-dd"
    # The template names the keys the exporter writes (lake.object_key), bucket aside.
    template_key = params["storage.location.template"]["Fn::Join"][1][-1]
    written = object_key("delivery", "2026-12-01", "dep_1").rsplit("/", 1)[0] + "/"
    assert template_key.replace("${kind}", "delivery").replace("${day}", "2026-12-01") == (
        "/" + written
    )
    storage = given["StorageDescriptor"]
    assert storage["SerdeInfo"]["SerializationLibrary"].endswith("ParquetHiveSerDe")
    assert [c["Name"] for c in storage["Columns"]] == [name for name, _ in COLUMNS]
    types = {c["Name"]: c["Type"] for c in storage["Columns"]}
    assert types["occurred_at"] == "timestamp" and types["numbers"] == "map<string,double>"


def test_the_athena_workgroup_enforces_its_results_and_a_scan_limit(
    template: dict[str, Any],
) -> None:
    _, group = the_one(template, "AWS::Athena::WorkGroup")
    config = group["WorkGroupConfiguration"]
    assert config["EnforceWorkGroupConfiguration"] is True
    assert config["BytesScannedCutoffPerQuery"] == 10 * 2**30
    results = config["ResultConfiguration"]
    assert results["EncryptionConfiguration"]["EncryptionOption"] == "SSE_S3"
    location = results["OutputLocation"]["Fn::Join"][1]
    assert {"Ref": LAKE_BUCKET} in location and location[-1] == "/athena-results/"


def test_the_exporter_reads_the_facts_index_and_writes_the_facts_prefix_only(
    template: dict[str, Any],
) -> None:
    function = exporter(template)
    env = function["Environment"]["Variables"]
    assert env["LASTMILE_LAKE_BUCKET"] == {"Ref": LAKE_BUCKET}
    role = function["Role"]["Fn::GetAtt"][0]
    statements = [
        s
        for s in statements_for(template, role)
        if not any(a.startswith(("logs:", "xray:")) for a in as_list(s["Action"]))
    ]
    granted = sorted(a for s in statements for a in as_list(s["Action"]))
    assert granted == ["dynamodb:Query", "s3:PutObject"]
    [query] = [s for s in statements if s["Action"] == "dynamodb:Query"]
    assert query["Resource"]["Fn::Join"][1][-1] == "/index/gsi1"
    [put] = [s for s in statements if s["Action"] == "s3:PutObject"]
    assert put["Resource"]["Fn::Join"][1][-1] == f"/{PREFIX}*"

    [rule] = [
        r["Properties"]
        for r in resources(template, "AWS::Events::Rule").values()
        if r["Properties"].get("Description") == "the lake export of the days around now"
    ]
    assert rule["ScheduleExpression"] == "rate(15 minutes)"
    assert rule["Targets"][0]["RetryPolicy"]["MaximumRetryAttempts"] == 2
