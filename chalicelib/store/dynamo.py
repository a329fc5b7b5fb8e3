"""A thin layer over the DynamoDB client: (de)serialisation, conditional writes, transactions
whose failed conditions come back as the domain errors the caller chose."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from chalicelib.domain.errors import ConcurrentUpdate, DomainError

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_attr(value: dict[str, Any]) -> dict[str, Any]:
    """A plain dict (floats allowed, Nones dropped) as DynamoDB attribute values."""
    clean = json.loads(json.dumps(value), parse_float=Decimal)
    return {k: _serializer.serialize(v) for k, v in clean.items() if v is not None}


def from_attr(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(_deserializer.deserialize(v)) for k, v in item.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, set):
        return sorted(_plain(v) for v in value)
    return value


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@dataclass
class Transaction:
    """Up to 100 writes committed all or none. Each write names the error its condition means."""

    items: list[dict[str, Any]] = field(default_factory=list)
    failures: list[DomainError | None] = field(default_factory=list)

    def put(
        self,
        table: str,
        item: dict[str, Any],
        *,
        condition: str | None = None,
        values: dict[str, Any] | None = None,
        names: dict[str, str] | None = None,
        on_fail: DomainError | None = None,
    ) -> Transaction:
        op: dict[str, Any] = {"TableName": table, "Item": to_attr(item)}
        self._conditions(op, condition, values, names)
        self.items.append({"Put": op})
        self.failures.append(on_fail)
        return self

    def update(
        self,
        table: str,
        key: dict[str, Any],
        *,
        expression: str,
        condition: str | None = None,
        values: dict[str, Any] | None = None,
        names: dict[str, str] | None = None,
        on_fail: DomainError | None = None,
    ) -> Transaction:
        op: dict[str, Any] = {
            "TableName": table,
            "Key": to_attr(key),
            "UpdateExpression": expression,
        }
        self._conditions(op, condition, values, names)
        self.items.append({"Update": op})
        self.failures.append(on_fail)
        return self

    def check(
        self,
        table: str,
        key: dict[str, Any],
        *,
        condition: str,
        values: dict[str, Any] | None = None,
        names: dict[str, str] | None = None,
        on_fail: DomainError | None = None,
    ) -> Transaction:
        op: dict[str, Any] = {"TableName": table, "Key": to_attr(key)}
        self._conditions(op, condition, values, names)
        self.items.append({"ConditionCheck": op})
        self.failures.append(on_fail)
        return self

    @staticmethod
    def _conditions(
        op: dict[str, Any],
        condition: str | None,
        values: dict[str, Any] | None,
        names: dict[str, str] | None,
    ) -> None:
        if condition:
            op["ConditionExpression"] = condition
        if values:
            op["ExpressionAttributeValues"] = to_attr(values)
        if names:
            op["ExpressionAttributeNames"] = names

    def commit(self, client: Any) -> None:
        """Write everything or nothing; a failed condition raises the error its write named."""
        try:
            client.transact_write_items(TransactItems=self.items)
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise
            reasons = exc.response.get("CancellationReasons") or []
            for reason, failure in zip(reasons, self.failures, strict=False):
                if reason.get("Code") == "ConditionalCheckFailed" and failure is not None:
                    raise failure from exc
            if any(r.get("Code") == "TransactionConflict" for r in reasons):
                raise ConcurrentUpdate("another write to the same objects is in progress") from exc
            raise


def query_all(client: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item of a query, following pagination."""
    while True:
        page = client.query(**kwargs)
        for item in page.get("Items", []):
            yield from_attr(item)
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
