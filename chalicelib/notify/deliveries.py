"""The record of each (outbox message, channel) in the main table, beside its order: claimed
with a conditional write before anything is sent, so a message is sent once per channel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.domain.errors import ConcurrentUpdate
from chalicelib.notify.messages import Channel, State
from chalicelib.store.dynamo import error_code, from_attr, query_all, to_attr

KEEP_DAYS = 90  # what the merchant's API shows is kept this long


def delivery_key(order_id: str, message_sk: str, channel: Channel) -> dict[str, str]:
    return {"pk": f"ORDER#{order_id}", "sk": f"NOTIFY#{message_sk}#{channel}"}


class DeliveryLog:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def claim(
        self,
        key: dict[str, str],
        *,
        order_id: str,
        message_type: str,
        channel: Channel,
        now: datetime,
        lease: timedelta,
    ) -> bool:
        """Take the message for this channel: True when nobody has it, when an earlier attempt
        left it in `retry`, or when an attempt's lease ran out without an outcome (a crash
        between claim and send). False when it is done or another attempt holds it."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=to_attr(key),
                UpdateExpression=(
                    "SET #state = :sending, entity = :entity, order_id = :order_id, "
                    "message_type = :type, channel = :channel, claimed_at = :now, "
                    "lease_until = :lease, expires_at = :expires ADD attempts :zero"
                ),
                ConditionExpression=(
                    "attribute_not_exists(pk) OR #state = :retry "
                    "OR (#state = :sending AND lease_until < :now)"
                ),
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=to_attr(
                    {
                        ":sending": str(State.SENDING),
                        ":retry": str(State.RETRY),
                        ":entity": "notification",
                        ":order_id": order_id,
                        ":type": message_type,
                        ":channel": str(channel),
                        ":now": _iso(now),
                        ":lease": _iso(now + lease),
                        ":expires": int((now + timedelta(days=KEEP_DAYS)).timestamp()),
                        ":zero": 0,
                    }
                ),
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def finish(
        self, key: dict[str, str], state: State, *, now: datetime, attempts: int, **fields: Any
    ) -> None:
        """Record the outcome of the attempt holding the claim (`to`, `message_id`, `reason`,
        `vendor_status`, `vendor_answer` as they apply)."""
        values: dict[str, Any] = {
            ":state": str(state),
            ":now": _iso(now),
            ":sending": str(State.SENDING),
            ":attempts": attempts,
        }
        names = {"#state": "state"}
        sets = ["#state = :state", "updated_at = :now"]
        for name, value in fields.items():
            if value is None:
                continue
            sets.append(f"#{name} = :{name}")  # names such as `to` are reserved words
            names[f"#{name}"] = name
            values[f":{name}"] = value
        try:
            self._client.update_item(
                TableName=self._table,
                Key=to_attr(key),
                UpdateExpression="SET " + ", ".join(sets) + " ADD attempts :attempts",
                ConditionExpression="#state = :sending",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_attr(values),
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise ConcurrentUpdate(f"notification {key['sk']} was taken over") from exc
            raise

    def state(self, key: dict[str, str]) -> State | None:
        """Where the message stands on this channel (None: never claimed)."""
        item = self._client.get_item(
            TableName=self._table, Key=to_attr(key), ConsistentRead=True
        ).get("Item")
        return State(from_attr(item)["state"]) if item else None

    def for_order(self, order_id: str) -> list[dict[str, Any]]:
        """Every notification record of the order, oldest message first."""
        return list(
            query_all(
                self._client,
                TableName=self._table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :notify)",
                ExpressionAttributeValues=to_attr(
                    {":pk": f"ORDER#{order_id}", ":notify": "NOTIFY#"}
                ),
                ConsistentRead=True,
            )
        )


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
