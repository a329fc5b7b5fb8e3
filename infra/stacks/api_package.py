"""Finishes the API functions' package after `chalice package`: bytecode for the runtime's Python
in the app's zip, and the dependency layer rebuilt from requirements.lock, trimmed, precompiled.

Lambda mounts the code read-only, so a module without bytecode in the package is compiled again
by every cold start. So:

- the app (`deployment.zip`, our code) keeps its sources and gains `__pycache__/*.cpython-312.pyc`
  compiled with `--invalidation-mode unchecked-hash`: valid whatever mtimes the zip gives the
  files, and never read against the source (a deploy replaces both together);
- the layer (`layer-deployment.zip`) is installed from requirements.lock (the hashes `make run`
  and `make test` install) for Lambda's platform, trimmed (tests, type stubs, botocore's models
  of services the functions never call, its documentation examples) and compiled *sourceless*:
  each `module.pyc` in place of its `module.py`. Vendor tracebacks keep file and line but lose
  the source text; with sources beside the bytecode the package is over 75 MB, with them gone
  about 50 (README, `lastmile coldstart`).

boto3 and botocore stay in the layer, pinned by the lock, rather than coming from the runtime:
the runtime's copy changes under a deployed function when AWS updates it, and is not the version
the tests ran against with moto.

Standard library only: the CDK app (stacks/lastmile.py) and `lastmile coldstart` both import it.
"""

from __future__ import annotations

import compileall
import hashlib
import os
import py_compile
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

from .optimiser_bundle import PIP_TARGET_ARGS  # Lambda's platform, as the optimiser's package

# What `chalice package` is given, by the CDK app and by `lastmile coldstart` alike (the CDK app
# adds the stage's environment). Dependencies go into a layer that chalice caches by
# requirements.txt alone (.chalice/deployments); `finish` replaces it with the lock's.
STAGE_CONFIG = {"automatic_layer": True}

RUNTIME = (3, 12)  # Lambda's python3.12: bytecode is only valid for the Python that wrote it
LOCK = "requirements.lock"
APP_ZIP = "deployment.zip"
LAYER_ZIP = "layer-deployment.zip"
# Where Lambda mounts them, and the layer's site-packages (on sys.path in the python3.12 runtime).
TASK_ROOT = "/var/task"
LAYER_ROOT = "/opt"
SITE = "python/lib/python3.12/site-packages"

# botocore's models are kept for the services our code names (`client("sns")`, found in the
# source by `services_called`) and these, which libraries create clients for themselves.
SDK_SERVICES = frozenset(
    {
        "dynamodb",  # PynamoDB
        "xray",  # the X-Ray SDK's sampler (Powertools' Tracer)
    }
)
_CLIENT_CALL = re.compile(r"""\bclient\(\s*["']([a-z0-9-]+)["']""")
# Never imported by a function: test suites, type stubs, documentation examples.
_TRIMMED_DIRS = frozenset({"tests", "test", "__pycache__"})
_TRIMMED_SUFFIXES = (".pyi",)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so the same inputs make the same zip (asset hash)


class PackageError(Exception):
    """The package would be wrong: fix the inputs, not the build host."""


def check_python() -> None:
    if sys.version_info[:2] != RUNTIME:
        raise PackageError(
            f"bytecode for python{RUNTIME[0]}.{RUNTIME[1]} needs that Python; this is "
            f"{sys.version_info[0]}.{sys.version_info[1]} (run from the project's .venv)"
        )


def services_called(sources: Path) -> set[str]:
    """The AWS services the code under `sources` makes clients for, by name."""
    found: set[str] = set()
    for path in sources.rglob("*.py"):
        found.update(_CLIENT_CALL.findall(path.read_text(encoding="utf-8")))
    return found


def trim(site: Path, services: Iterable[str]) -> None:
    """Remove what no function imports or reads from an installed site-packages."""
    keep = set(services)
    for root, dirs, files in os.walk(site):
        for name in [d for d in dirs if d in _TRIMMED_DIRS]:
            shutil.rmtree(Path(root, name))
            dirs.remove(name)
        for name in files:
            if name.endswith(_TRIMMED_SUFFIXES):
                Path(root, name).unlink()
    models = site / "botocore" / "data"
    if models.is_dir():
        missing = keep - {p.name for p in models.iterdir()}
        if missing:
            raise PackageError(f"botocore has no models for {sorted(missing)}")
        for service in models.iterdir():
            if service.is_dir() and service.name not in keep:
                shutil.rmtree(service)
        for examples in models.glob("*/*/examples-1.json"):
            examples.unlink()  # only botocore's documentation generator reads them


def compile_tree(tree: Path, shown_as: str, *, sourceless: bool) -> None:
    """Bytecode for every module under `tree`, its tracebacks naming `shown_as` (where Lambda
    mounts it). Sourceless: `m.pyc` replaces `m.py`; else `__pycache__/m.cpython-312.pyc`."""
    check_python()
    ok = compileall.compile_dir(
        str(tree),
        ddir=shown_as,
        quiet=2,
        legacy=sourceless,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        # In this process: compileall's worker pool re-imports the main module in each worker,
        # and that is the CDK app under synth. Once per lock, and a few seconds.
        workers=1,
    )
    if not ok:
        raise PackageError(f"some modules under {tree} do not compile")
    if sourceless:
        for source in tree.rglob("*.py"):
            source.unlink()


def write_zip(tree: Path, archive: Path) -> None:
    """`tree` as a zip that is the same bytes for the same files (sorted, fixed times)."""
    paths = sorted(p for p in tree.rglob("*") if p.is_file())
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as out:
        for path in paths:
            info = zipfile.ZipInfo(path.relative_to(tree).as_posix(), _ZIP_TIME)
            info.external_attr = ((path.stat().st_mode & 0o755) | 0o644 | 0o100000) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(info, path.read_bytes())


def unzipped_size(archive: Path) -> int:
    with zipfile.ZipFile(archive) as zipped:
        return sum(info.file_size for info in zipped.infolist())


def pip_install(lock: Path, target: Path) -> None:
    """The lock's distributions, for Lambda's platform, with the hashes it pins."""
    subprocess.run(
        [
            sys.executable,
            *("-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
            *("--require-hashes", "--no-deps", "--no-compile", *PIP_TARGET_ARGS),
            *("--requirement", str(lock), "--target", str(target)),
        ],
        check=True,
    )


def build_layer(repo: Path, archive: Path, *, bytecode: bool = True) -> None:
    """The dependency layer from the lock into `archive`; `bytecode=False` keeps the sources
    and compiles nothing (what `lastmile coldstart` compares with)."""
    with tempfile.TemporaryDirectory(prefix="lastmile-layer-") as tmp:
        site = Path(tmp, SITE)
        pip_install(repo / LOCK, site)
        trim(site, services_called(repo / "chalicelib") | SDK_SERVICES)
        if bytecode:
            compile_tree(site, f"{LAYER_ROOT}/{SITE}", sourceless=True)
        write_zip(Path(tmp), archive)


def cached_layer(repo: Path, *, bytecode: bool = True) -> Path:
    """The layer, built once per lock, builder, target platform and set of services the code
    calls, in .chalice/deployments beside chalice's own cache."""
    key = hashlib.sha256()
    key.update((repo / LOCK).read_bytes())
    key.update(Path(__file__).read_bytes())
    called = sorted(services_called(repo / "chalicelib"))
    key.update(repr((called, PIP_TARGET_ARGS, sys.version_info[:2], bytecode)).encode())
    archive = repo / ".chalice" / "deployments" / f"api-layer-{key.hexdigest()[:20]}.zip"
    if not archive.exists():
        archive.parent.mkdir(parents=True, exist_ok=True)
        partial = archive.with_suffix(".partial")
        build_layer(repo, partial, bytecode=bytecode)
        partial.replace(archive)
    return archive


def precompile_app(archive: Path) -> None:
    """Add the app's bytecode (sources kept) to chalice's app zip, in place."""
    with tempfile.TemporaryDirectory(prefix="lastmile-app-") as tmp:
        tree = Path(tmp)
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(tree)
        for stale in tree.rglob("__pycache__"):
            shutil.rmtree(stale)  # the build host's, if any
        compile_tree(tree, TASK_ROOT, sourceless=False)
        write_zip(tree, archive)


def finish(repo: Path, package_dir: Path) -> None:
    """Turn chalice's package in `package_dir` into the one deployed (see the module's doc)."""
    check_python()
    precompile_app(package_dir / APP_ZIP)
    layer = package_dir / LAYER_ZIP
    if not layer.exists():
        raise PackageError(f"no {LAYER_ZIP} in {package_dir}: is automatic_layer still on?")
    shutil.copyfile(cached_layer(repo), layer)
