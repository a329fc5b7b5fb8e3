"""Catch-up cursors in the main table: per merchant and platform, the newest platform change
time already applied. Only ever moves forward, whatever runs overlap."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.domain.order import utc_now
from chalicelib.store.dynamo import error_code, from_attr, to_attr


def cursor_key(merchant_id: str, platform: str) -> dict[str, str]:
    return {"pk": f"RECONCILE#{merchant_id}#{platform}", "sk": "CURSOR"}


def _stored(at: datetime) -> str:
    # One fixed width and zone, so that the condition's string comparison is time order.
    return at.astimezone(UTC).isoformat(timespec="microseconds")


class ReconcileCursors:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def get(self, merchant_id: str, platform: str) -> datetime | None:
        item = self._client.get_item(
            TableName=self._table,
            Key=to_attr(cursor_key(merchant_id, platform)),
            ConsistentRead=True,
        ).get("Item")
        return datetime.fromisoformat(from_attr(item)["changed_to"]) if item else None

    def advance(self, merchant_id: str, platform: str, to: datetime) -> bool:
        """Move the cursor to `to` unless it is already there or beyond (an overlapping run got
        further); True when it moved."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item=to_attr(
                    {
                        **cursor_key(merchant_id, platform),
                        "entity": "reconcile_cursor",
                        "merchant_id": merchant_id,
                        "platform": platform,
                        "changed_to": _stored(to),
                        "written_at": utc_now(),
                    }
                ),
                ConditionExpression="attribute_not_exists(pk) OR changed_to < :to",
                ExpressionAttributeValues=to_attr({":to": _stored(to)}),
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True
