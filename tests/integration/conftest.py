"""Integration tests run against moto served over HTTP, with the production table definitions."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from chalicelib import bootstrap
from chalicelib.local.aws import EmbeddedAws, create_tables


@pytest.fixture(scope="session")
def aws() -> Iterator[EmbeddedAws]:
    saved = dict(os.environ)
    embedded = EmbeddedAws().start()
    os.environ.update(create_tables(embedded.client("dynamodb")))
    os.environ["LASTMILE_ADMIN_KEY_SHA256"] = "0" * 64
    os.environ["LASTMILE_GEOCODER"] = "none"
    bootstrap.reset()
    yield embedded
    embedded.stop()
    os.environ.clear()
    os.environ.update(saved)
    bootstrap.reset()
