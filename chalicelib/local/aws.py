"""The embedded AWS stand-in: moto as a real HTTP server, so the SDKs speak the wire protocol."""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import Any

import boto3
import requests
from moto.dynamodb.responses import DynamoHandler
from moto.server import ThreadedMotoServer

from chalicelib.store.schema import TABLES, TableSpec

REGION = "eu-west-1"

MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}


_dynamodb_lock = threading.Lock()


def _serialise_dynamodb() -> None:
    """Make moto's DynamoDB take one request at a time, as real DynamoDB's conditional writes
    and transactions are atomic. moto's are not under concurrent requests: two transactions
    can both pass `attribute_not_exists` (and its dicts change size mid-iteration)."""
    if getattr(DynamoHandler.call_action, "_serialised", False):
        return
    original = DynamoHandler.call_action

    def call_action(self: DynamoHandler) -> Any:
        with _dynamodb_lock:
            return original(self)

    call_action._serialised = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedAws:
    """A moto server on 127.0.0.1 and the environment that points the SDKs at it."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    def start(self) -> EmbeddedAws:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per AWS call is noise
        _serialise_dynamodb()
        self._server.start()
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SESSION_TOKEN": "testing",
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
            }
        )
        requests.post(f"{self.endpoint}/moto-api/config", json=MOTO_CONFIG, timeout=10)
        return self

    def stop(self) -> None:
        self._server.stop()

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION)


def create_table(client: Any, spec: TableSpec, name: str) -> None:
    """One table as production declares it (keys, indexes, stream, TTL)."""
    keys = [{"AttributeName": spec.partition_key, "KeyType": "HASH"}]
    if spec.sort_key:
        keys.append({"AttributeName": spec.sort_key, "KeyType": "RANGE"})
    params: dict[str, Any] = {
        "TableName": name,
        "KeySchema": keys,
        "AttributeDefinitions": [
            {"AttributeName": a, "AttributeType": "S"} for a in spec.key_attributes
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if spec.indexes:
        params["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index.name,
                "KeySchema": [
                    {"AttributeName": index.partition_key, "KeyType": "HASH"},
                    {"AttributeName": index.sort_key, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in spec.indexes
        ]
    if spec.stream_view:
        params["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": spec.stream_view}
    client.create_table(**params)
    if spec.ttl_attribute:
        client.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute},
        )


def create_tables(client: Any, names: dict[str, str] | None = None) -> dict[str, str]:
    """Every table of the schema; returns env var -> table name."""
    names = names or {}
    created = {}
    for spec in TABLES:
        name = names.get(spec.env_var, spec.local_name)
        create_table(client, spec, name)
        created[spec.env_var] = name
    return created
