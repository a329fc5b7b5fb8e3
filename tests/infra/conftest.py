"""One synth per session (about five seconds once chalice's layer cache is warm)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra.cloud_assembly import STAGES, CloudAssembly, synthesise


@pytest.fixture(scope="session")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> CloudAssembly:
    return synthesise(tmp_path_factory.mktemp("work") / "cdk.out")


@pytest.fixture(params=STAGES)
def stage(request: pytest.FixtureRequest) -> str:
    """Each stage the app deploys (a test asking for it, or its template, runs once per stage)."""
    return str(request.param)


@pytest.fixture
def template(assembly: CloudAssembly, stage: str) -> dict[str, Any]:
    return assembly.template(stage)
