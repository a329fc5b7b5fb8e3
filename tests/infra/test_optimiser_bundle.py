"""The optimiser's package build (infra/stacks/optimiser_bundle.py), without building it: the
synth skips it, and a real one downloads ortools. These hold the parts that need no network."""

from __future__ import annotations

import subprocess
import sysconfig
from importlib.metadata import PathDistribution
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from infra.stacks import optimiser_bundle as bundle

REPO_ROOT = Path(__file__).resolve().parents[2]


def listed_requirements() -> list[Requirement]:
    lines = (REPO_ROOT / bundle.REQUIREMENTS).read_text().splitlines()
    return [Requirement(line.split("#")[0]) for line in lines if line.split("#")[0].strip()]


def fake_dist(target: Path, name: str, version: str, *requires: str) -> None:
    info = target / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    metadata = [f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}"]
    metadata += [f"Requires-Dist: {r}" for r in requires]
    (info / "METADATA").write_text("\n".join(metadata) + "\n")


def test_requirements_optimiser_is_a_closed_set() -> None:
    """Installed with --no-deps, the file must list what its packages need (on Lambda's
    platform), less what the bundler omits on purpose: read from the venv's metadata, which
    pip installed from this same file with its dependencies."""
    listed = {canonicalize_name(r.name): r for r in listed_requirements()}
    assert {"ortools", "numpy", "pyvrp", "python-dateutil"} <= set(listed)
    assert not bundle.OMITTED & set(listed)
    installed = {
        name: dist
        for name, dist in bundle.installed_in(Path(sysconfig.get_paths()["purelib"])).items()
        if name in listed
    }
    assert set(installed) == set(listed), "the venv lacks some of requirements-optimiser.txt"
    for name, requirement in listed.items():
        assert requirement.specifier.contains(installed[name].version), (name, requirement)
    assert bundle.closure_problems(installed) == []


def test_closure_check_names_what_no_deps_left_out(tmp_path: Path) -> None:
    fake_dist(tmp_path, "solver", "1.0", "numpy>=2", "absl-py", "pandas>=2")
    fake_dist(tmp_path, "numpy", "1.26.4")
    fake_dist(tmp_path, "other", "1.0", "tzdata; sys_platform == 'win32'", "more; extra == 'x'")
    with pytest.raises(bundle.BundleError) as raised:
        bundle.check_closure(tmp_path)
    message = str(raised.value)
    assert "solver needs numpy>=2, found 1.26.4" in message
    assert "solver needs absl-py, not installed" in message
    # Omitted on purpose (pandas), or not for Linux, or an extra: not problems.
    assert "pandas" not in message and "tzdata" not in message and "more" not in message


def test_closure_check_passes_a_closed_set(tmp_path: Path) -> None:
    fake_dist(tmp_path, "solver", "1.0", "numpy>=2", "matplotlib")
    fake_dist(tmp_path, "numpy", "2.1.0")
    bundle.check_closure(tmp_path)
    assert set(bundle.installed_in(tmp_path)) == {"solver", "numpy"}
    assert isinstance(bundle.installed_in(tmp_path)["numpy"], PathDistribution)


def test_the_package_is_copied_without_bytecode(tmp_path: Path) -> None:
    repo, out = tmp_path / "repo", tmp_path / "out"
    (repo / "chalicelib" / "dispatch" / "__pycache__").mkdir(parents=True)
    (repo / "chalicelib" / "dispatch" / "optimiser.py").write_text("def handler(): ...\n")
    (repo / "chalicelib" / "dispatch" / "__pycache__" / "optimiser.cpython-312.pyc").write_bytes(
        b"stale"
    )
    (repo / "chalicelib" / "stray.pyc").write_bytes(b"stale")
    bundle.copy_package(repo, out)
    copied = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert copied == {"chalicelib/dispatch/optimiser.py"}


def test_a_package_over_lambdas_limit_fails_the_build(tmp_path: Path) -> None:
    (tmp_path / "big").write_bytes(b"x" * 1000)
    assert bundle.check_size(tmp_path, limit=1001) == 1000
    with pytest.raises(bundle.BundleError, match="unzipped"):
        bundle.check_size(tmp_path, limit=1000)


def test_pip_installs_for_lambdas_platform_without_resolving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[list[str]] = []
    monkeypatch.setattr(bundle.subprocess, "run", lambda args, check: ran.append(args))
    bundle.pip_install(tmp_path / "requirements.txt", tmp_path / "out")
    [args] = ran
    assert args[1:4] == ["-m", "pip", "install"]
    assert "--no-deps" in args and "--only-binary=:all:" in args
    assert "--require-hashes" in args  # the lock's
    platforms = {args[i + 1] for i, arg in enumerate(args) if arg == "--platform"}
    # ortools 9.15 and numpy 2.x have manylinux_2_28 wheels only; Lambda's glibc is 2.34.
    assert platforms == {"manylinux2014_x86_64", "manylinux_2_28_x86_64"}
    assert args[args.index("--python-version") + 1] == "3.12"
    assert args[args.index("--implementation") + 1] == "cp"
    assert args[args.index("--target") + 1] == str(tmp_path / "out")


def test_local_bundling_falls_back_to_docker_only_when_pip_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from infra.stacks.optimiser import _LocalBundling

    def pip_fails(requirements: Path, out: Path) -> None:
        raise subprocess.CalledProcessError(1, ["pip"])

    monkeypatch.setattr(bundle, "pip_install", pip_fails)
    assert _LocalBundling(REPO_ROOT).try_bundle(str(tmp_path)) is False

    def pip_leaves_a_hole(requirements: Path, out: Path) -> None:
        fake_dist(out, "solver", "1.0", "numpy")

    monkeypatch.setattr(bundle, "pip_install", pip_leaves_a_hole)
    # Docker would install the same: the synth stops instead.
    with pytest.raises(bundle.BundleError):
        _LocalBundling(REPO_ROOT).try_bundle(str(tmp_path / "out"))
