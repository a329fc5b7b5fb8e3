"""The synthesised stacks: tables as schema.py declares them, wiring, permissions, package, lint."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from chalicelib.store.schema import TABLES, TableSpec
from infra.stacks import api_package
from tests.infra.cloud_assembly import STAGES, CloudAssembly
from tests.infra.templates import FUNCTION, LAYER, allows, resources, statements_for

REPO_ROOT = Path(__file__).resolve().parents[2]


def key_schema(partition_key: str, sort_key: str | None) -> list[dict[str, str]]:
    keys = [{"AttributeName": partition_key, "KeyType": "HASH"}]
    return keys + ([{"AttributeName": sort_key, "KeyType": "RANGE"}] if sort_key else [])


@pytest.mark.parametrize("spec", TABLES, ids=lambda s: s.logical_id)
def test_tables_are_built_from_the_schema(template: dict[str, Any], spec: TableSpec) -> None:
    table = template["Resources"][spec.logical_id]
    props = table["Properties"]

    assert table["Type"] == "AWS::DynamoDB::Table"
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == key_schema(spec.partition_key, spec.sort_key)
    assert {a["AttributeName"] for a in props["AttributeDefinitions"]} == set(spec.key_attributes)
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    if spec.ttl_attribute:
        assert props["TimeToLiveSpecification"] == {
            "AttributeName": spec.ttl_attribute,
            "Enabled": True,
        }
    else:
        assert "TimeToLiveSpecification" not in props
    if spec.stream_view:
        assert props["StreamSpecification"] == {"StreamViewType": spec.stream_view}
    else:
        assert "StreamSpecification" not in props
    indexes = {i["IndexName"]: i for i in props.get("GlobalSecondaryIndexes", [])}
    assert set(indexes) == {i.name for i in spec.indexes}
    for index in spec.indexes:
        assert indexes[index.name]["KeySchema"] == key_schema(index.partition_key, index.sort_key)
        assert indexes[index.name]["Projection"] == {"ProjectionType": "ALL"}


def test_functions_run_python312_and_get_the_table_names(template: dict[str, Any]) -> None:
    functions = resources(template, FUNCTION)
    assert "APIHandler" in functions
    for function in functions.values():
        props = function["Properties"]
        assert props["Runtime"] == "python3.12"
        env = props["Environment"]["Variables"]
        for spec in TABLES:
            assert env[spec.env_var] == {"Ref": spec.logical_id}
        # Only the hash of the admin key is deployed, and only as a parameter's value.
        assert env["LASTMILE_ADMIN_KEY_SHA256"] == {"Ref": "AdminKeySha256"}
        assert env["LASTMILE_SECRETS_PREFIX"] == "lastmile"
    for layer in resources(template, LAYER).values():
        assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_takes_its_chalice_settings(assembly: CloudAssembly, stage: str) -> None:
    handler = assembly.template(stage)["Resources"]["APIHandler"]
    assert handler["Properties"]["Environment"]["Variables"]["LASTMILE_STAGE"] == stage


def test_admin_key_hash_parameter_accepts_only_a_sha256(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["AdminKeySha256"]
    assert parameter["AllowedPattern"] == "^[0-9a-f]{64}$"
    assert parameter["NoEcho"] is True


def test_the_api_role_may_use_the_tables_streams_and_secrets(template: dict[str, Any]) -> None:
    statements = statements_for(template, "DefaultRole")
    for spec in TABLES:
        arn = {"Fn::GetAtt": [spec.logical_id, "Arn"]}
        for action in ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"):
            assert allows(statements, action, arn), (action, spec.logical_id)
        if spec.indexes:
            indexes = {"Fn::Join": ["", [arn, "/index/*"]]}
            assert allows(statements, "dynamodb:Query", indexes), spec.logical_id
        if spec.stream_view:
            stream = {"Fn::GetAtt": [spec.logical_id, "StreamArn"]}
            assert allows(statements, "dynamodb:GetRecords", stream), spec.logical_id

    secrets = [
        s
        for s in statements
        if {
            "secretsmanager:GetSecretValue",
            "secretsmanager:CreateSecret",
            "secretsmanager:PutSecretValue",
            "secretsmanager:UpdateSecret",
        }
        <= set(s["Action"])
    ]
    assert len(secrets) == 1
    # arn:<partition>:secretsmanager:<region>:<account>:secret:lastmile/*, joined at deploy
    assert secrets[0]["Resource"]["Fn::Join"][1][-1] == ":secret:lastmile/*"


def test_alarms_watch_the_api_and_its_function(template: dict[str, Any]) -> None:
    alarms = resources(template, "AWS::CloudWatch::Alarm").values()
    watched = {(a["Properties"]["Namespace"], a["Properties"]["MetricName"]) for a in alarms}
    assert ("AWS/ApiGateway", "5XXError") in watched
    assert ("AWS/Lambda", "Errors") in watched
    assert all(a["Properties"].get("AlarmActions") for a in alarms)


def _packages(assembly: CloudAssembly, template: dict[str, Any]) -> list[Path]:
    uris = [f["Properties"]["CodeUri"] for f in resources(template, FUNCTION).values()]
    uris += [layer["Properties"]["ContentUri"] for layer in resources(template, LAYER).values()]
    return [assembly.asset(uri["Key"]) for uri in uris]


@pytest.mark.parametrize("stage", STAGES)
def test_api_functions_ship_without_ortools(assembly: CloudAssembly, stage: str) -> None:
    names: set[str] = set()
    for package in _packages(assembly, assembly.template(stage)):
        with zipfile.ZipFile(package) as archive:
            names |= set(archive.namelist())
    # Sanity: the packages hold the app and its dependencies, so the absence below means something.
    assert "app.py" in names
    assert any("/aws_lambda_powertools/" in name for name in names)
    # Nor the optimiser's other heavy dependencies (requirements-optimiser.txt).
    heavy = {"ortools", "pyvrp"}
    assert not [name for name in names if heavy & set(name.split("/"))]


@pytest.mark.parametrize("stage", STAGES)
def test_api_packages_carry_bytecode_and_fit(assembly: CloudAssembly, stage: str) -> None:
    """infra/stacks/api_package.py: the app with its sources and unchecked-hash bytecode, the
    layer from requirements.lock, sourceless, trimmed; together within issue 11's 60 MB."""
    names: dict[str, int] = {}
    flags: dict[str, int] = {}
    for package in set(_packages(assembly, assembly.template(stage))):
        with zipfile.ZipFile(package) as archive:
            for info in archive.infolist():
                names[info.filename] = info.file_size
                if info.filename.endswith("chalicelib/__pycache__/bootstrap.cpython-312.pyc"):
                    flags["app"] = int.from_bytes(archive.read(info)[4:8], "little")
    site = "python/lib/python3.12/site-packages"
    assert "chalicelib/bootstrap.py" in names
    assert flags["app"] == 0b01  # hash-based, never checked against the source
    assert f"{site}/pydantic/main.pyc" in names
    assert f"{site}/pydantic/main.py" not in names
    assert f"{site}/botocore/data/dynamodb/2012-08-10/service-2.json.gz" in names
    assert not [n for n in names if n.startswith(f"{site}/botocore/data/ec2/")]
    assert not [n for n in names if n.startswith(f"{site}/numpy/")]
    assert sum(names.values()) <= 60_000_000


# What the functions do with the vendors they import late, run from the deployed package: the
# layer's modules are bytecode only (no sources), botocore has the models of called services only.
_SMOKE = """
import hmac, time
import app
from chalicelib.domain.errors import SignatureInvalid
from chalicelib.intake.stripe_checkout import verify
from chalicelib.notify.phones import to_e164
from chalicelib.notify.pickup_qr import pickup_qr_png
from chalicelib.notify.rendering import Renderer
from chalicelib.tracking.page import qr_data_uri, render_not_found
import boto3, sendgrid.helpers.mail

t = int(time.time())
body = b'{"id": "evt_1"}'
good = hmac.new(b"whsec_x", f"{t}.".encode() + body, "sha256").hexdigest()
verify(body, f"t={t},v1={good}", "whsec_x")
try:
    verify(body, f"t={t},v1={'0' * 64}", "whsec_x")
    raise SystemExit("a wrong Stripe signature passed")
except SignatureInvalid:
    pass
assert to_e164("020 7946 0958", "GB") == "+442079460958"
assert pickup_qr_png("12345678").startswith(b"\\x89PNG")
assert qr_data_uri("https://example.com/track/x").startswith("data:image/svg+xml")
assert "</html>" in render_not_found()
Renderer()
for service in SERVICES:
    boto3.client(service, region_name="eu-west-1")
print("ok")
"""


@pytest.mark.parametrize("stage", STAGES)
def test_the_deployed_package_runs_its_late_imports(
    assembly: CloudAssembly, stage: str, tmp_path: Path
) -> None:
    template = assembly.template(stage)
    [app_zip] = {
        assembly.asset(f["Properties"]["CodeUri"]["Key"])
        for f in resources(template, FUNCTION).values()
    }
    [layer_zip] = [
        assembly.asset(layer["Properties"]["ContentUri"]["Key"])
        for layer in resources(template, LAYER).values()
    ]
    task, opt = tmp_path / "task", tmp_path / "opt"
    zipfile.ZipFile(app_zip).extractall(task)
    zipfile.ZipFile(layer_zip).extractall(opt)
    services = sorted(
        api_package.services_called(REPO_ROOT / "chalicelib") | api_package.SDK_SERVICES
    )
    site = opt / "python" / "lib" / "python3.12" / "site-packages"
    done = subprocess.run(
        [
            getattr(sys, "_base_executable", sys.executable),
            "-S",
            "-c",
            f"SERVICES = {services!r}\n{_SMOKE}",
        ],
        cwd=task,
        env={
            "PYTHONPATH": f"{task}:{site}:{opt / 'python'}",
            "PYTHONDONTWRITEBYTECODE": "1",
            "LASTMILE_STAGE": stage,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ok"]


@pytest.mark.parametrize("stage", STAGES)
def test_cfn_lint_passes(assembly: CloudAssembly, stage: str) -> None:
    # The venv's cfn-lint, never the machine's (moto's bundled one is newer than the machine's).
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    template = assembly.outdir / f"{stage}.template.json"
    done = subprocess.run(
        [str(cfn_lint), str(template)], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_api_gateway_answers_label_pdfs_as_binary(template: dict[str, Any]) -> None:
    """The label routes' PDFs leave the Lambda base64-encoded; API Gateway turns them back into
    bytes only for a binary media type its API lists."""
    [api] = (
        resources(template, "AWS::Serverless::Api").values()
        or resources(template, "AWS::ApiGateway::RestApi").values()
    )
    body = api["Properties"].get("DefinitionBody") or api["Properties"].get("Body")
    assert "application/pdf" in body["x-amazon-apigateway-binary-media-types"]
