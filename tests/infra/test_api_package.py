"""The API package's finishing steps (infra/stacks/api_package.py) on small trees: what the synth
and `lastmile coldstart` do to the real one, without pip."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from infra.stacks import api_package

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_services_called_are_found_in_the_source_even_across_lines() -> None:
    found = api_package.services_called(REPO_ROOT / "chalicelib")
    # bootstrap's client("dynamodb") ..., and the geocoder's client(\n "geo-places", ...).
    assert {"dynamodb", "s3", "stepfunctions", "secretsmanager", "sns", "geo-places"} <= found


def test_trim_keeps_called_services_and_drops_tests_stubs_and_examples(tmp_path: Path) -> None:
    site = tmp_path / "site"
    for path in [
        "botocore/data/endpoints.json",
        "botocore/data/sns/2010-03-31/service-2.json.gz",
        "botocore/data/sns/2010-03-31/examples-1.json",
        "botocore/data/ec2/2016-11-15/service-2.json.gz",
        "segno/__init__.py",
        "segno/__init__.pyi",
        "certifi/tests/test_certify.py",
        "test/unit/test_mail.py",
    ]:
        (site / path).parent.mkdir(parents=True, exist_ok=True)
        (site / path).write_text("x")

    api_package.trim(site, {"sns"})

    left = sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file())
    assert left == [
        "botocore/data/endpoints.json",
        "botocore/data/sns/2010-03-31/service-2.json.gz",
        "segno/__init__.py",
    ]


def test_trim_refuses_a_service_botocore_has_no_model_for(tmp_path: Path) -> None:
    (tmp_path / "botocore" / "data" / "sns").mkdir(parents=True)
    try:
        api_package.trim(tmp_path, {"sns", "no-such-service"})
    except api_package.PackageError as exc:
        assert "no-such-service" in str(exc)
    else:
        raise AssertionError("trim kept quiet about a missing model")


def _flags(pyc: Path) -> int:
    return int.from_bytes(pyc.read_bytes()[4:8], "little")


def test_bytecode_is_unchecked_hash_and_imports_from_a_read_only_tree(tmp_path: Path) -> None:
    app, layer = tmp_path / "task", tmp_path / "layer"
    (app / "pkg").mkdir(parents=True)
    (app / "pkg" / "__init__.py").write_text("")
    (app / "pkg" / "mod.py").write_text("def where():\n    return __file__\n")
    (layer / "vendor").mkdir(parents=True)
    (layer / "vendor" / "__init__.py").write_text("VALUE = 42\n")

    api_package.compile_tree(app, "/var/task", sourceless=False)
    api_package.compile_tree(layer, "/opt/python", sourceless=True)

    tag = sys.implementation.cache_tag
    cached = app / "pkg" / "__pycache__" / f"mod.{tag}.pyc"
    assert (app / "pkg" / "mod.py").exists()
    assert _flags(cached) == 0b01  # hash-based, source never checked: mtimes do not matter
    assert not (layer / "vendor" / "__init__.py").exists()
    assert (layer / "vendor" / "__init__.pyc").exists()
    # The sources' mtimes moved on (as a zip round trip may move them): still used as they are.
    (app / "pkg" / "mod.py").touch()
    for path in [*tmp_path.rglob("*"), tmp_path]:
        path.chmod(path.stat().st_mode & ~0o222)
    try:
        done = subprocess.run(
            [sys.executable, "-S", "-c", "import pkg.mod, vendor; print(vendor.VALUE)"],
            env={"PYTHONPATH": f"{app}:{layer}", "PYTHONDONTWRITEBYTECODE": "1"},
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        for path in [tmp_path, *tmp_path.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)
    assert done.stdout.strip() == "42"


def test_zips_are_the_same_bytes_for_the_same_files(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "b").mkdir(parents=True)
    (tree / "b" / "x.py").write_text("x = 1\n")
    (tree / "a.py").write_text("a = 1\n")

    api_package.write_zip(tree, tmp_path / "one.zip")
    (tree / "a.py").touch()
    api_package.write_zip(tree, tmp_path / "two.zip")

    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "one.zip") as archive:
        assert archive.namelist() == ["a.py", "b/x.py"]
    assert api_package.unzipped_size(tmp_path / "one.zip") == 12
