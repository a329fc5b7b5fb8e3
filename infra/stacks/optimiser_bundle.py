"""Builds the optimiser Lambda function's package: requirements-optimiser.lock and chalicelib/.

Standard library (and `packaging`, which pip vendors) only, so the same file runs two ways:
imported by the CDK app for local bundling (infra/stacks/optimiser.py), and as a script in
the Lambda build image when local bundling fails:

    python infra/stacks/optimiser_bundle.py <repo root> <output dir>

The dependencies are installed with `--no-deps` from the lock (requirements-optimiser.txt pinned
with hashes, `make locks`): the .txt lists the whole runtime closure, and `check_closure` proves
it closed, less what OMITTED leaves out on purpose.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from importlib.metadata import Distribution, distributions
from pathlib import Path

try:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
    from packaging.version import Version
except ImportError:  # the build image has pip, and pip vendors packaging
    from pip._vendor.packaging.requirements import Requirement  # type: ignore[no-redef]
    from pip._vendor.packaging.utils import canonicalize_name  # type: ignore[no-redef]
    from pip._vendor.packaging.version import Version  # type: ignore[no-redef]

REQUIREMENTS = "requirements-optimiser.txt"
LOCK = "requirements-optimiser.lock"  # what is installed: REQUIREMENTS pinned, with hashes
PACKAGE = "chalicelib"

# Lambda's python3.12 runtime: CPython 3.12 on Amazon Linux 2023 (glibc 2.34), x86_64.
# ortools 9.15, numpy 2.x and pyvrp 0.14 ship manylinux_2_27/2_28 wheels only, which pip's
# manylinux2014 alone would not take (pip expands manylinux2014 to older tags, never newer).
PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_28_x86_64")
PIP_TARGET_ARGS = [
    *(arg for platform in PLATFORMS for arg in ("--platform", platform)),
    "--only-binary=:all:",
    "--python-version",
    "3.12",
    "--implementation",
    "cp",
]
MARKER_ENVIRONMENT = {
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "python_version": "3.12",
    "python_full_version": "3.12.0",
    "os_name": "posix",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "extra": "",
}

# Declared by the dependencies, never imported on the optimiser's code path; with them the
# package is about 330 MB unzipped, over Lambda's 250 MB limit (without, about 160 MB).
OMITTED = frozenset(
    {
        "pandas",  # ortools: only its model_builder imports it; the routing solver does not
        "matplotlib",  # pyvrp: its plotting module only
        "tqdm",  # pyvrp: its command line only
    }
)

# Lambda's limit on a function's unzipped code (with its layers): 250 MiB.
MAX_UNZIPPED_BYTES = 262_144_000


class BundleError(Exception):
    """The package would be wrong or would not deploy: fix the inputs, not the build host."""


def pip_install(requirements: Path, out: Path) -> None:
    """The dependencies for Lambda's platform, whatever the build host (no Docker needed), each
    checked against the hashes its lock pins."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--require-hashes",
            *PIP_TARGET_ARGS,
            "--requirement",
            str(requirements),
            "--target",
            str(out),
        ],
        check=True,
    )


def installed_in(directory: Path) -> dict[str, Distribution]:
    return {canonicalize_name(d.metadata["Name"]): d for d in distributions(path=[str(directory)])}


def closure_problems(
    installed: Mapping[str, Distribution], omitted: frozenset[str] = OMITTED
) -> list[str]:
    """Requirements of `installed` distributions (on Lambda's platform) that none of them
    meets, less the `omitted` ones."""
    problems = []
    for name, dist in sorted(installed.items()):
        for line in dist.requires or []:
            requirement = Requirement(line)
            if requirement.marker and not requirement.marker.evaluate(MARKER_ENVIRONMENT):
                continue
            wanted = canonicalize_name(requirement.name)
            if wanted in omitted:
                continue
            found = installed.get(wanted)
            if found is None:
                problems.append(f"{name} needs {requirement}, not installed")
            elif not requirement.specifier.contains(Version(found.version), prereleases=True):
                problems.append(f"{name} needs {requirement}, found {found.version}")
    return problems


def check_closure(out: Path) -> None:
    """What `--no-deps` did not check: every requirement of every installed distribution is
    installed in a version it accepts, or is one we leave out on purpose."""
    problems = closure_problems(installed_in(out))
    if problems:
        raise BundleError(
            f"{REQUIREMENTS} is not a closed set of runtime dependencies "
            f"(add them, or to OMITTED in {Path(__file__).name} if never imported):\n  "
            + "\n  ".join(problems)
        )


def copy_package(repo: Path, out: Path) -> None:
    """The app's own package as the source tree has it, without bytecode of the build host."""
    shutil.copytree(
        repo / PACKAGE, out / PACKAGE, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )


def check_size(out: Path, limit: int = MAX_UNZIPPED_BYTES) -> int:
    size = sum(
        (Path(root) / name).stat().st_size for root, _, names in os.walk(out) for name in names
    )
    if size >= limit:
        raise BundleError(f"the optimiser package is {size} bytes unzipped; Lambda takes {limit}")
    return size


def bundle(repo: Path, out: Path) -> int:
    """Build the package into `out`; its unzipped size."""
    pip_install(repo / LOCK, out)
    check_closure(out)
    copy_package(repo, out)
    return check_size(out)


if __name__ == "__main__":
    repo_arg, out_arg = sys.argv[1:]
    size = bundle(Path(repo_arg), Path(out_arg))
    print(f"optimiser package: {size / 2**20:.0f} MiB unzipped")
