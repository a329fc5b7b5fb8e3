"""The lock files stay in step with the requirements they pin (`make locks` rewrites them): each
requirement pinned, with hashes, at a version the requirement accepts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
SETS = [
    "requirements",
    "requirements-optimiser",
    "requirements-local",
    "requirements-dev",
    "requirements-lake",
]
_PIN = re.compile(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^\s\\;]+)")


def requirements(name: str) -> list[Requirement]:
    lines = (REPO / f"{name}.txt").read_text().splitlines()
    return [Requirement(line.split("#")[0]) for line in lines if line.split("#")[0].strip()]


def pins(name: str) -> dict[str, tuple[Version, int]]:
    """name -> (version, how many hashes) in `name`.lock."""
    found: dict[str, tuple[Version, int]] = {}
    current = ""
    for line in (REPO / f"{name}.lock").read_text().splitlines():
        if match := _PIN.match(line):
            current = canonicalize_name(match[1])
            found[current] = (Version(match[2]), 0)
        elif line.strip().startswith("--hash=sha256:") and current:
            version, hashes = found[current]
            found[current] = (version, hashes + 1)
    return found


@pytest.mark.parametrize("name", SETS)
def test_each_requirement_is_pinned_with_hashes_at_an_accepted_version(name: str) -> None:
    pinned = pins(name)
    assert pinned, f"{name}.lock pins nothing"
    for requirement in requirements(name):
        key = canonicalize_name(requirement.name)
        assert key in pinned, f"{requirement} is not in {name}.lock: run `make locks`"
        version, _ = pinned[key]
        assert requirement.specifier.contains(version, prereleases=True), (requirement, version)
    assert all(hashes for _, hashes in pinned.values()), f"{name}.lock has a pin without hashes"


def test_the_optimiser_lock_is_its_closed_list_and_nothing_more() -> None:
    # Installed with --no-deps into its Lambda package: what it leaves out stays out.
    listed = {canonicalize_name(r.name) for r in requirements("requirements-optimiser")}
    assert set(pins("requirements-optimiser")) == listed


def test_sets_installed_side_by_side_agree_on_every_shared_pin() -> None:
    seen: dict[str, tuple[str, Version]] = {}
    for name in SETS:
        for package, (version, _) in pins(name).items():
            first = seen.setdefault(package, (name, version))
            assert first[1] == version, f"{package}: {first} but {name}.lock has {version}"
