"""`lastmile coldstart`: the API functions' package built as the CDK app deploys it, and what a
cold start pays to import `app` from it: fresh interpreters on a read-only copy laid out as
Lambda mounts it (/var/task the app, /opt the layer), next to the same package without bytecode.

Needs a source checkout (infra/stacks/api_package.py) and chalice; the network only for PyPI,
the first time a lock's layer is built (it is cached in .chalice/deployments)."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[2]
STAGE = "dev"
RUNS = 5
TARGET_MS = 500.0  # issue 11: a Shopify webhook has 5 s, retries included
TARGET_MB = 60.0  # issue 11 (MB = 10**6 bytes); Lambda's own limit is 250 MiB
# Timed inside the interpreter: the import alone, not the interpreter's own start.
_PROBE = "import time; t = time.perf_counter(); import app; print(time.perf_counter() - t)"


@dataclass(frozen=True)
class Figures:
    with_bytecode_ms: list[float]
    without_bytecode_ms: list[float]
    app_bytes: int
    layer_bytes: int
    without_bytecode_bytes: int


def report(figures: Figures) -> str:
    """The figures as the README quotes them, each beside its target."""

    def runs(values: Sequence[float]) -> str:
        return " ".join(f"{v:.0f}" for v in values)

    def mb(size: int) -> str:
        return f"{size / 1e6:.1f} MB"

    fast = statistics.median(figures.with_bytecode_ms)
    slow = statistics.median(figures.without_bytecode_ms)
    size = figures.app_bytes + figures.layer_bytes
    fast_ok = "ok" if fast <= TARGET_MS else "OVER"
    size_ok = "ok" if size / 1e6 <= TARGET_MB else "OVER"
    return "\n".join(
        [
            f"API package (stage {STAGE}, as the CDK app builds it), `import app` on a read-only"
            f" copy, median of {len(figures.with_bytecode_ms)} fresh interpreters:",
            f"  with precompiled bytecode  {fast:6.0f} ms   target <= {TARGET_MS:.0f} ms: "
            f"{fast_ok}   (runs: {runs(figures.with_bytecode_ms)})",
            f"  without bytecode           {slow:6.0f} ms   (runs: "
            f"{runs(figures.without_bytecode_ms)})",
            f"unzipped size                {mb(size):>9}   target <= {TARGET_MB:.0f} MB: "
            f"{size_ok}   (app {mb(figures.app_bytes)}, layer {mb(figures.layer_bytes)};"
            f" without bytecode {mb(figures.without_bytecode_bytes)})",
        ]
    )


def _api_package() -> ModuleType:
    """infra/stacks/api_package.py, which the CDK app uses to finish the same package. Loaded
    by path: infra/ on sys.path would put the CDK app's app.py before ours."""
    stacks = REPO / "infra" / "stacks"
    if not (stacks / "api_package.py").exists():
        raise SystemExit("lastmile coldstart needs a source checkout (infra/stacks/api_package.py)")
    name = "_lastmile_infra_stacks"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, stacks / "__init__.py")
        assert spec is not None and spec.loader is not None
        package = importlib.util.module_from_spec(spec)
        sys.modules[name] = package
        spec.loader.exec_module(package)
    return importlib.import_module(f"{name}.api_package")


def _lambda_environment(task: Path, layer: Path) -> dict[str, str]:
    """As the python3.12 runtime starts a function: its paths, the stage's settings from
    .chalice/config.json, no bytecode written (the mount is read-only anyway)."""
    config = json.loads((REPO / ".chalice" / "config.json").read_text())
    env = {
        **config.get("environment_variables", {}),
        **config["stages"][STAGE].get("environment_variables", {}),
    }
    site = layer / "python" / "lib" / "python3.12" / "site-packages"
    return env | {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": os.pathsep.join([str(task), str(site), str(layer / "python")]),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_LAMBDA_FUNCTION_NAME": f"lastmile-{STAGE}-APIHandler",
        "LAMBDA_TASK_ROOT": str(task),
    }


def _unpack_read_only(app_zip: Path, layer_zip: Path, into: Path) -> tuple[Path, Path]:
    task, layer = into / "task", into / "opt"
    for archive, where in ((app_zip, task), (layer_zip, layer)):
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(where)
    for root, dirs, files in os.walk(into):
        for name in dirs + files:
            path = Path(root, name)
            path.chmod(path.stat().st_mode & ~0o222)
    into.chmod(0o555)
    return task, layer


def _import_times(task: Path, layer: Path, runs: int) -> list[float]:
    """Milliseconds to `import app`, each in a fresh interpreter without the venv's packages:
    the base Python with -S, so only what Lambda would find is found."""
    python = getattr(sys, "_base_executable", sys.executable)
    env = _lambda_environment(task, layer)
    times = []
    for _ in range(runs):
        done = subprocess.run(
            [python, "-S", "-c", _PROBE],
            cwd=task,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"`import app` failed in the package:\n{done.stderr}")
        times.append(float(done.stdout.split()[-1]) * 1000)
    return times


def _writable(tree: Path) -> None:
    for root, dirs, _ in os.walk(tree):
        Path(root).chmod(0o755)
        for name in dirs:
            Path(root, name).chmod(0o755)


def measure(runs: int = RUNS, keep: Path | None = None) -> Figures:
    from chalice.api import package_app  # chalice: requirements-local.txt

    api_package = _api_package()
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")  # chalice asks botocore for one
    work = Path(tempfile.mkdtemp(prefix="lastmile-coldstart-"))
    try:
        package = work / "package"
        package_app(
            project_dir=str(REPO),
            output_dir=str(package),
            stage=STAGE,
            chalice_config=dict(api_package.STAGE_CONFIG),
        )
        plain_app = work / "deployment-without-bytecode.zip"
        shutil.copyfile(package / api_package.APP_ZIP, plain_app)
        api_package.finish(REPO, package)
        app_zip, layer_zip = package / api_package.APP_ZIP, package / api_package.LAYER_ZIP
        plain_layer = api_package.cached_layer(REPO, bytecode=False)

        fast = _import_times(*_unpack_read_only(app_zip, layer_zip, work / "with"), runs)
        slow = _import_times(*_unpack_read_only(plain_app, plain_layer, work / "without"), runs)
        return Figures(
            with_bytecode_ms=fast,
            without_bytecode_ms=slow,
            app_bytes=api_package.unzipped_size(app_zip),
            layer_bytes=api_package.unzipped_size(layer_zip),
            without_bytecode_bytes=api_package.unzipped_size(plain_app)
            + api_package.unzipped_size(plain_layer),
        )
    finally:
        _writable(work)
        if keep is not None:
            shutil.copytree(work, keep, dirs_exist_ok=True)
        shutil.rmtree(work)


def register(commands: Any) -> None:
    cold = commands.add_parser(
        "coldstart",
        help="build the API package as deployed; time `import app` from it, read-only",
    )
    cold.add_argument("--runs", type=int, default=RUNS, help="fresh interpreters per figure")
    cold.add_argument("--keep", type=Path, help="copy the packages and their unpacked trees here")
    cold.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    print(report(measure(args.runs, args.keep)))
    return 0
