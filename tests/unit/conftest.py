"""Unit tests run with no network at all; the store's models run against moto in process."""

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from pytest_socket import disable_socket, enable_socket

from chalicelib import bootstrap
from chalicelib.local.aws import create_table
from chalicelib.store.models.base import configure
from chalicelib.store.schema import MAIN


@pytest.fixture(autouse=True)
def _no_network() -> Iterator[None]:
    disable_socket(allow_unix_socket=True)
    yield
    enable_socket()


@pytest.fixture
def models_in_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], Any]]:
    """Call it with a table name: a main table built from the schema, the models pointed at it,
    and a boto3 client to read it raw. Nothing leaves the process: the endpoint of any server
    another test started is taken out of the environment."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():

        def tables(name: str) -> Any:
            client = boto3.client("dynamodb", region_name="eu-west-1")
            create_table(client, MAIN, name)
            configure(main_table=name, outbox_table=f"{name}-outbox", region="eu-west-1", host=None)
            return client

        yield tables
    # The models were pointed here: bootstrap points them back at the settings' tables on next use.
    bootstrap.reset()
