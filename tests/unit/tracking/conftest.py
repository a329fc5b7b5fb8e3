"""The tracking stores' tests share one in-process main table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

TABLE = "tracking-test-main"


@pytest.fixture
def dynamodb(models_in_process: Callable[[str], Any]) -> Any:
    """A main table the models point at; the boto3 client to read it raw."""
    return models_in_process(TABLE)
