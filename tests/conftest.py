"""Marks each test by the folder it lives in (unit, integration, e2e, infra)."""

from __future__ import annotations

import pytest

KINDS = ("unit", "integration", "e2e", "infra")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = item.path.parts
        for kind in KINDS:
            if kind in parts:
                item.add_marker(getattr(pytest.mark, kind))
