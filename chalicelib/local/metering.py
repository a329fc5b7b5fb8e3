"""What the benchmarks measure inside the local runtime's process: the AWS requests moto answers
(with the DynamoDB request units each would consume), the bytes the app logs, and AWS list
prices to turn them into dollars. Installed by a benchmark, never by the product."""

from __future__ import annotations

import io
import json
import logging
import math
import sys
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.endpoint import Endpoint
from chalice.local import LocalGateway
from moto.core.responses import BaseResponse
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.s3.responses import S3Response

CHALICE_CONFIG = Path(__file__).resolve().parents[2] / ".chalice" / "config.json"

DYNAMODB_WRITES = {"PutItem", "UpdateItem", "DeleteItem"}
DYNAMODB_READS = {"GetItem", "Query", "Scan"}
WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4096


@dataclass(frozen=True)
class Price:
    usd: float
    per: str


# AWS list prices, us-east-1, on-demand (USD), as published on each service's pricing page on
# PRICES_AS_OF. DynamoDB's on-demand request prices are those since 2024-11-01 (halved then:
# $1.25/M writes and $0.25/M reads before). Estimates, not a bill.
PRICES_AS_OF = "2026-12-01 (DynamoDB on-demand since 2024-11-01)"
PRICES = {
    "dynamodb_write_unit": Price(0.625 / 1e6, "write request unit"),
    "dynamodb_read_unit": Price(0.125 / 1e6, "read request unit"),
    "lambda_request": Price(0.20 / 1e6, "request"),
    "lambda_gb_second": Price(0.0000166667, "GB-second (x86)"),
    "api_gateway_rest": Price(3.50 / 1e6, "REST API request (first 333 M a month)"),
    "state_transition": Price(0.025 / 1e3, "Step Functions standard state transition"),
    "sqs_request": Price(0.40 / 1e6, "SQS standard request (64 KB chunk)"),
    "logs_ingested_gb": Price(0.50, "GB of CloudWatch Logs ingested"),
    "s3_put": Price(0.005 / 1e3, "S3 PUT"),
    "s3_get": Price(0.0004 / 1e3, "S3 GET"),
}
# What Lambda itself writes to each invocation's log stream (START, END, REPORT lines).
LAMBDA_PLATFORM_LOG_BYTES = 350


def memory_mb() -> dict[str, int]:
    """Each Chalice function's memory as .chalice/config.json gives it (the CDK app deploys
    the Chalice app from it); `api` is the API handler's."""
    config = json.loads(CHALICE_CONFIG.read_text())
    default = int(config.get("lambda_memory_size", 128))
    sizes = {
        name: int(settings.get("lambda_memory_size", default))
        for name, settings in config.get("lambda_functions", {}).items()
    }
    return {"api": default} | sizes


TAG_HEADER = "x-lastmile-meter"  # which of our functions an AWS request came from
_thread_tag = threading.local()


def current_tag() -> str:
    """What the running thread is, as Lambda would bill it: the API request it serves (tagged
    by the caller, see tagged_requests), the notify consumer, or a Step Functions task."""
    tag = getattr(_thread_tag, "tag", None)
    if tag:
        return str(tag)
    name = threading.current_thread().name
    if name == "stream-poller":
        return "notify"
    if name.startswith("lambda-"):
        return name.removeprefix("lambda-")
    return "other"


def set_tag(tag: str | None) -> None:
    _thread_tag.tag = tag


def tag_requests() -> None:
    """Carry the running thread's tag on every AWS SDK request of this process (a header moto
    ignores), and let an API request's caller name it with the same header. Process-wide,
    once; harmless when nothing reads the header."""
    if getattr(Endpoint._send, "_tagged", False):
        return
    send = Endpoint._send

    def tagged_send(endpoint: Endpoint, request: Any) -> Any:
        request.headers[TAG_HEADER] = current_tag()
        return send(endpoint, request)

    tagged_send._tagged = True  # type: ignore[attr-defined]
    Endpoint._send = tagged_send
    handle = LocalGateway.handle_request

    def handle_request(
        gateway: LocalGateway, method: str, path: str, headers: Any, body: Any
    ) -> Any:
        tag = next((v for k, v in headers.items() if k.lower() == TAG_HEADER), None)
        set_tag(f"api:{tag}" if tag else "api")
        try:
            return handle(gateway, method, path, headers, body)
        finally:
            set_tag(None)

    LocalGateway.handle_request = handle_request  # type: ignore[method-assign,assignment]


class RequestCounter:
    """Counts every request the moto server answers, by service and action, while `on`; for
    DynamoDB also the request units AWS would bill: writes by the item's size after the write
    (1 KB units, doubled in a transaction, once more per global index holding the item), reads
    by the bytes returned (4 KB units, halved when eventually consistent). Deletes count one
    unit; Query and Scan count what they return (a filter would make AWS count more)."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.items_written: Counter[str] = Counter()
        self.units: defaultdict[str, float] = defaultdict(float)  # write, read
        # The same by the tag of the function that asked (tag_requests): tag -> figures.
        self.by_tag: dict[str, defaultdict[str, float]] = {}
        self.on = False
        self._lock = threading.Lock()
        original = BaseResponse.call_action
        counter = self

        def call_action(response: BaseResponse) -> Any:
            if not counter.on:
                return original(response)
            answer = original(response)
            counter.record(response, answer)
            return answer

        BaseResponse.call_action = call_action  # type: ignore[method-assign,assignment]
        # moto's S3 answers object requests outside call_action.
        for action in ("get_object", "put_object"):
            self._count_s3(action)

    def _count_s3(self, action: str) -> None:
        original = getattr(S3Response, action)
        counter = self

        def counted(response: S3Response) -> Any:
            if counter.on:
                with counter._lock:
                    counter.requests[f"s3:{action}"] += 1
            return original(response)

        setattr(S3Response, action, counted)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.items_written.clear()
            self.units.clear()
            self.by_tag.clear()

    def record(self, response: BaseResponse, answer: Any) -> None:
        service, action = response.service_name or "?", response._get_action()
        headers = getattr(response, "headers", None) or {}
        tag = headers.get(TAG_HEADER) or "untagged"
        with self._lock:
            self.requests[f"{service}:{action}"] += 1
            mine = self.by_tag.setdefault(tag, defaultdict(float))
            mine[f"{service}:requests"] += 1
        if service != "dynamodb":
            return
        # moto's DynamoDB handler has parsed the body into a dict by now, and DynamoDB is
        # serialised (local/aws.py): the tables read below are as this request left them.
        body = response.body if isinstance(response.body, dict) else {}
        backend = getattr(response, "dynamodb_backend", None)
        write_units, read_units, items = 0.0, 0.0, 0
        if action in DYNAMODB_WRITES:
            items = 1
            write_units = _written_units(backend, body, action)
        elif action == "TransactWriteItems":
            for entry in body.get("TransactItems", []):
                (kind, op), *_ = entry.items()
                items += 1
                write_units += 2 * _written_units(backend, op, kind)
        elif action == "BatchWriteItem":
            for table, requests in body.get("RequestItems", {}).items():
                for request in requests:
                    items += 1
                    kind, op = next(iter(request.items()))
                    op = {"TableName": table, **op}
                    write_units += _written_units(backend, op, f"{kind}Item")
        elif action in DYNAMODB_READS | {"BatchGetItem", "TransactGetItems"}:
            read_units = _read_units(action, body, answer)
        with self._lock:
            if items:
                kind = "transactional" if action == "TransactWriteItems" else "single"
                self.items_written[kind] += items
                mine["dynamodb:items_written"] += items
            self.units["write"] += write_units
            self.units["read"] += read_units
            mine["dynamodb:write_units"] += write_units
            mine["dynamodb:read_units"] += read_units
            if action in DYNAMODB_WRITES or action in ("TransactWriteItems", "BatchWriteItem"):
                mine["dynamodb:write_requests"] += 1
            elif read_units:
                mine["dynamodb:read_requests"] += 1

    def of(self, service: str, actions: set[str] | None = None) -> int:
        return sum(
            n
            for key, n in self.requests.items()
            if key.split(":")[0] == service and (actions is None or key.split(":")[1] in actions)
        )


def _table(backend: Any, name: str | None) -> Any:
    return backend.tables.get(name) if backend is not None and name else None


def _stored(table: Any, key: dict[str, Any]) -> Any:
    """The item stored under `key` (a request's Key or Item), or None."""
    if table.hash_key_attr not in key:
        return None
    range_value = None
    if table.has_range_key:
        if table.range_key_attr not in key:
            return None
        range_value = DynamoType(key[table.range_key_attr])
    try:
        return table.get_item(DynamoType(key[table.hash_key_attr]), range_value)
    except KeyError:
        return None


def _written_units(backend: Any, op: dict[str, Any], kind: str) -> float:
    """Write units of one item written (Put, Update, Delete, ConditionCheck)."""
    table = _table(backend, op.get("TableName"))
    if table is None:
        return 1.0
    item = _stored(table, op.get("Key") or op.get("Item") or {})
    if item is None or kind in ("Delete", "DeleteItem", "ConditionCheck"):
        return 1.0
    units = max(1, math.ceil(item.size() / WRITE_UNIT_BYTES))
    indexed = sum(
        1
        for index in table.global_indexes
        if all(k["AttributeName"] in item.attrs for k in index.schema)
    )
    return float(units * (1 + indexed))


def _read_units(action: str, body: dict[str, Any], answer: Any) -> float:
    """Read units of one read request, from the items it returned."""
    try:
        payload = json.loads(answer[2]) if isinstance(answer, tuple) else {}
    except (TypeError, ValueError, IndexError):
        payload = {}

    def units(items: list[dict[str, Any]], consistent: bool, factor: float = 1.0) -> float:
        size = sum(_json_size(i) for i in items)
        whole = max(1, math.ceil(size / READ_UNIT_BYTES))
        return whole * factor * (1.0 if consistent else 0.5)

    if action == "GetItem":
        item = payload.get("Item")
        return units([item] if item else [], bool(body.get("ConsistentRead")))
    if action in ("Query", "Scan"):
        return units(payload.get("Items", []), bool(body.get("ConsistentRead")))
    if action == "BatchGetItem":
        returned = payload.get("Responses", {}).values()
        return sum(units([item], False) for items in returned for item in items)
    if action == "TransactGetItems":
        return sum(
            units([r["Item"]] if r.get("Item") else [], True, 2.0)
            for r in payload.get("Responses", [])
        )
    return 0.0


def _json_size(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it, near enough: names and values in bytes."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: dict[str, Any]) -> int:
    (kind, inner), *_ = value.items()
    if kind in ("S", "B"):
        return len(str(inner).encode())
    if kind == "N":
        return len(str(inner).lstrip("-").replace(".", "")) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + _value_size(v) for k, v in inner.items())
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in inner)
    return sum(len(str(v).encode()) for v in inner)  # SS, NS, BS


class LogBytes:
    """Counts the bytes the app writes to its standard output in this process (what CloudWatch
    Logs would ingest: the Powertools logger's lines and the metrics' EMF documents) and, while
    counting, keeps them off the console. A spawned process's output (the optimiser's) is not
    seen."""

    def __init__(self, logger_name: str = "lastmile") -> None:
        self.bytes = 0
        self._lock = threading.Lock()
        self._streams: list[tuple[logging.StreamHandler[Any], Any]] = []
        for handler in logging.getLogger(logger_name).handlers:
            if isinstance(handler, logging.StreamHandler):
                self._streams.append((handler, handler.stream))
                handler.setStream(_Counting(self))
        self._stdout = sys.stdout
        sys.stdout = _Counting(self)

    def add(self, text: str) -> None:
        with self._lock:
            self.bytes += len(text.encode())

    def close(self) -> None:
        for handler, stream in self._streams:
            handler.setStream(stream)
        sys.stdout = self._stdout


class _Counting(io.TextIOBase):
    def __init__(self, meter: LogBytes) -> None:
        self._meter = meter

    def write(self, text: str) -> int:
        self._meter.add(text)
        return len(text)


def usd(name: str, quantity: float) -> float:
    return quantity * PRICES[name].usd


def price_list() -> dict[str, Any]:
    """The prices used, for a report."""
    return {
        "as_of": PRICES_AS_OF,
        "region": "us-east-1",
        "usd": {name: f"{p.usd:.10g} per {p.per}" for name, p in PRICES.items()},
    }
