"""The embedded AWS stand-in: moto as a real HTTP server, so the SDKs speak the wire protocol."""

from __future__ import annotations

import copy
import json
import logging
import os
import socket
import threading
from typing import Any

import boto3
import requests
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler
from moto.server import ThreadedMotoServer

from chalicelib.notify.retry_queues import DEAD_LETTER_QUEUE, MAX_RECEIVES, RETRY_QUEUE
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


class _TableCopySkipped:
    """`copy` for moto's DynamoDB models module, except that a whole Table is not copied."""

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _touched_item_rollback() -> None:
    """moto backs a transaction up by deep-copying every table it touches, once per item:
    time and memory grow with the table (1,000 orders took minutes and gigabytes). With
    DynamoDB serialised above, saving only the items a transaction touches (and the stream's
    length) restores the same state when it is cancelled."""
    if getattr(DynamoDBBackend.transact_write_items, "_touched_only", False):
        return
    original = DynamoDBBackend.transact_write_items
    dynamodb_models.copy = _TableCopySkipped  # type: ignore[assignment]

    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> Any:
        saved: list[tuple[Table, DynamoType, DynamoType | None, Any]] = []
        streams: dict[int, tuple[Any, int]] = {}
        for entry in transact_items:
            op = next(iter(entry.values()))
            table = self.tables.get(op.get("TableName"))
            if table is None:
                continue  # the original answers for a missing table
            key = op.get("Key") or op.get("Item") or {}
            if table.hash_key_attr not in key:
                continue
            hash_value = DynamoType(key[table.hash_key_attr])
            range_value = None
            if table.has_range_key:
                if table.range_key_attr not in key:
                    continue
                range_value = DynamoType(key[table.range_key_attr])
            item = table.get_item(hash_value, range_value)
            saved.append((table, hash_value, range_value, copy.deepcopy(item)))
            if table.stream_shard is not None:
                streams.setdefault(id(table), (table.stream_shard, len(table.stream_shard.items)))
        try:
            return original(self, transact_items)
        except Exception:
            for table, hash_value, range_value, item in reversed(saved):
                if range_value is None:
                    table.items.pop(hash_value, None)
                    if item is not None:
                        table.items[hash_value] = item
                else:
                    table.items[hash_value].pop(range_value, None)
                    if item is not None:
                        table.items[hash_value][range_value] = item
            for shard, length in streams.values():
                del shard.items[length:]
            raise

    transact_write_items._touched_only = True  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


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
        _touched_item_rollback()
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


def create_queues(client: Any, suffix: str = "") -> dict[str, str]:
    """The outbox's retry and dead-letter queues as production declares them (the retry
    queue's redrive policy included), their names ending in `suffix`; returns env var -> URL."""
    dead = client.create_queue(
        QueueName=DEAD_LETTER_QUEUE.local_name + suffix,
        Attributes={
            "VisibilityTimeout": str(DEAD_LETTER_QUEUE.visibility_timeout_s),
            "MessageRetentionPeriod": str(DEAD_LETTER_QUEUE.retention_s),
        },
    )["QueueUrl"]
    dead_arn = client.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    redrive = {"deadLetterTargetArn": dead_arn, "maxReceiveCount": MAX_RECEIVES}
    retry = client.create_queue(
        QueueName=RETRY_QUEUE.local_name + suffix,
        Attributes={
            "VisibilityTimeout": str(RETRY_QUEUE.visibility_timeout_s),
            "MessageRetentionPeriod": str(RETRY_QUEUE.retention_s),
            "RedrivePolicy": json.dumps(redrive),
        },
    )["QueueUrl"]
    return {RETRY_QUEUE.env_var: retry, DEAD_LETTER_QUEUE.env_var: dead}
