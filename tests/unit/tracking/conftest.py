"""The store's models against moto in process (no network), on a table built from the schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib import bootstrap
from chalicelib.local.aws import create_table
from chalicelib.store.models.base import configure
from chalicelib.store.schema import MAIN

TABLE = "tracking-test-main"


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A main table the models point at; the boto3 client to read it raw."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        create_table(client, MAIN, TABLE)
        configure(
            main_table=TABLE, outbox_table="tracking-test-outbox", region="eu-west-1", host=None
        )
        yield client
    # The models were pointed here: bootstrap points them back at the settings' tables on next use.
    bootstrap.reset()
