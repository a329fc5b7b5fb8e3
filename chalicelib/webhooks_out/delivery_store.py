"""Webhook deliveries in the main table, one per (outbox message, endpoint): pk
`WEBHOOKOUT#<endpoint_id>`, sk `<message sk>#<order_id>`, created with a conditional put so a
redelivered message is delivered once. A pending delivery sits in gsi2 under `WEBHOOK#due`
with its due time as sort key; whoever moves that sort key forward (a lease) holds it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.store.dynamo import error_code, from_attr, to_attr

DUE_PARTITION = "WEBHOOK#due"
KEEP_DAYS = 30


class DeliveryState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    ABANDONED = "abandoned"


@dataclass(frozen=True)
class Delivery:
    endpoint_id: str
    merchant_id: str
    order_id: str
    message_sk: str
    message_type: str
    msg_id: str
    body: str
    state: DeliveryState = DeliveryState.PENDING
    attempts: int = 0
    first_attempt_at: str | None = None
    last_attempt_at: str | None = None
    last_status: int | None = None
    last_answer: str | None = None
    next_attempt_at: str | None = None
    reason: str | None = None
    due: str | None = None  # gsi2sk while pending: the holder's token

    @property
    def key(self) -> dict[str, str]:
        return delivery_key(self.endpoint_id, self.message_sk, self.order_id)

    def view(self) -> dict[str, Any]:
        """How the merchant sees it (the body is theirs to see)."""
        shown = {
            "msg_id": self.msg_id,
            "order_id": self.order_id,
            "type": self.message_type,
            "state": str(self.state),
            "attempts": self.attempts,
            "first_attempt_at": self.first_attempt_at,
            "last_attempt_at": self.last_attempt_at,
            "last_status": self.last_status,
            "last_answer": self.last_answer,
            "next_attempt_at": self.next_attempt_at,
            "reason": self.reason,
        }
        return {k: v for k, v in shown.items() if v is not None}


def delivery_key(endpoint_id: str, message_sk: str, order_id: str) -> dict[str, str]:
    return {"pk": f"WEBHOOKOUT#{endpoint_id}", "sk": f"{message_sk}#{order_id}"}


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _token(due: datetime) -> str:
    # Time first, so the index sorts by it; the random tail makes every lease distinct.
    return f"{iso(due)}#{secrets.token_hex(4)}"


_FIELDS = (
    "endpoint_id",
    "merchant_id",
    "order_id",
    "message_sk",
    "message_type",
    "msg_id",
    "body",
    "attempts",
    "first_attempt_at",
    "last_attempt_at",
    "last_status",
    "last_answer",
    "next_attempt_at",
    "reason",
)


def _from_item(item: dict[str, Any]) -> Delivery:
    return Delivery(
        **{name: item[name] for name in _FIELDS if name in item},
        state=DeliveryState(item["state"]),
        due=item.get("gsi2sk"),
    )


class DeliveryLog:
    def __init__(self, client: Any, table: str, due_partition: str = DUE_PARTITION) -> None:
        self._client = client
        self._table = table
        self._due = due_partition  # tests use their own, to see only their deliveries

    def create(self, delivery: Delivery, due: datetime, now: datetime) -> str | None:
        """Store a new pending delivery due at `due`; returns its token (the caller holds it
        until then), or None when this message was already given to this endpoint."""
        token = _token(due)
        item = {
            **delivery.key,
            **{name: getattr(delivery, name) for name in _FIELDS},
            "entity": "webhook_delivery",
            "state": str(DeliveryState.PENDING),
            "next_attempt_at": iso(due),
            "created_at": iso(now),
            "expires_at": int((now + timedelta(days=KEEP_DAYS)).timestamp()),
            "gsi2pk": self._due,
            "gsi2sk": token,
        }
        try:
            self._client.put_item(
                TableName=self._table,
                Item=to_attr(item),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return None
            raise
        return token

    def due(self, now: datetime, limit: int) -> list[Delivery]:
        """Pending deliveries due by `now`, earliest first (the index is eventually
        consistent: claim() is what decides)."""
        answer = self._client.query(
            TableName=self._table,
            IndexName="gsi2",
            KeyConditionExpression="gsi2pk = :due AND gsi2sk <= :now",
            ExpressionAttributeValues=to_attr({":due": self._due, ":now": iso(now) + "#~"}),
            Limit=limit,
        )
        return [_from_item(from_attr(item)) for item in answer.get("Items", [])]

    def claim(self, delivery: Delivery, until: datetime) -> str | None:
        """Hold a due delivery until `until` (then it is due again, should this attempt die);
        the new token, or None when someone else holds it or it is finished."""
        token = _token(until)
        try:
            self._client.update_item(
                TableName=self._table,
                Key=to_attr(delivery.key),
                UpdateExpression="SET gsi2sk = :token",
                ConditionExpression="#state = :pending AND gsi2sk = :seen",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=to_attr(
                    {
                        ":token": token,
                        ":pending": str(DeliveryState.PENDING),
                        ":seen": delivery.due,
                    }
                ),
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return None
            raise
        return token

    def finish(
        self,
        delivery: Delivery,
        token: str,
        *,
        state: DeliveryState,
        retry_at: datetime | None = None,
        **fields: Any,
    ) -> bool:
        """Record an attempt's outcome; pending again (due at `retry_at`) or done. False when
        the token was no longer ours (the lease ran out and another attempt took over)."""
        values: dict[str, Any] = {":state": str(state), ":token": token}
        names = {"#state": "state"}
        sets = ["#state = :state"]
        for name, value in fields.items():
            if value is None:
                continue
            sets.append(f"#{name} = :{name}")
            names[f"#{name}"] = name
            values[f":{name}"] = value
        removes = []
        if state is DeliveryState.PENDING:
            assert retry_at is not None
            sets += ["gsi2sk = :next", "next_attempt_at = :next_at"]
            values |= {":next": _token(retry_at), ":next_at": iso(retry_at)}
        else:
            removes = ["gsi2pk", "gsi2sk", "next_attempt_at"]  # out of the due index
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        try:
            self._client.update_item(
                TableName=self._table,
                Key=to_attr(delivery.key),
                UpdateExpression=expression,
                ConditionExpression="gsi2sk = :token",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_attr(values),
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def for_endpoint(self, endpoint_id: str, limit: int = 100) -> list[Delivery]:
        """The endpoint's latest deliveries, newest first."""
        answer = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=to_attr({":pk": f"WEBHOOKOUT#{endpoint_id}"}),
            ScanIndexForward=False,
            Limit=limit,
            ConsistentRead=True,
        )
        return [_from_item(from_attr(item)) for item in answer.get("Items", [])]

    def get(self, delivery_key_: dict[str, str]) -> Delivery | None:
        item = self._client.get_item(
            TableName=self._table, Key=to_attr(delivery_key_), ConsistentRead=True
        ).get("Item")
        return _from_item(from_attr(item)) if item else None
