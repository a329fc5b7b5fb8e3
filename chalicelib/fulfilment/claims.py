"""One fulfilment report per order and platform, claimed in the main table beside the order
(pk ORDER#<id>, sk FULFILMENT#<platform>) before the platform is called, then marked reported or
failed. A retryable failure deletes the claim so that the redelivered message tries again."""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.domain.errors import ConcurrentUpdate
from chalicelib.domain.order import utc_now
from chalicelib.store.dynamo import error_code, from_attr, to_attr

CLAIMED, REPORTED, FAILED = "claimed", "reported", "failed"
LEASE_S = 300  # longer than the notify function runs: a claim older than this was abandoned


class ClaimHeld(ConcurrentUpdate):
    """Another attempt is reporting this order's fulfilment right now (or died doing so)."""


def claim_key(order_id: str, platform: str) -> dict[str, str]:
    return {"pk": f"ORDER#{order_id}", "sk": f"FULFILMENT#{platform}"}


class FulfilmentClaims:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def claim(self, order_id: str, merchant_id: str, platform: str) -> bool:
        """True when this call holds the claim; False when the order was reported (or refused)
        before. A claim still held by a live attempt raises ClaimHeld (the stream comes back
        later); one whose attempt died (lease over) is taken over."""
        now = int(time.time())
        try:
            self._client.put_item(
                TableName=self._table,
                Item=to_attr(
                    {
                        **claim_key(order_id, platform),
                        "entity": "fulfilment",
                        "order_id": order_id,
                        "merchant_id": merchant_id,
                        "platform": platform,
                        "state": CLAIMED,
                        "claimed_at": utc_now(),
                        "lease_until": now + LEASE_S,
                    }
                ),
                ConditionExpression=(
                    "attribute_not_exists(pk) OR (#s = :claimed AND lease_until < :now)"
                ),
                ExpressionAttributeNames={"#s": "state"},
                ExpressionAttributeValues=to_attr({":claimed": CLAIMED, ":now": now}),
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            held = self._client.get_item(
                TableName=self._table,
                Key=to_attr(claim_key(order_id, platform)),
                ConsistentRead=True,
            ).get("Item")
            if held and from_attr(held).get("state") == CLAIMED:
                raise ClaimHeld(f"fulfilment of {order_id} is being reported; retry later") from exc
            return False
        return True

    def release(self, order_id: str, platform: str) -> None:
        """Give up a claim still held (not one already settled) so the next delivery retries."""
        try:
            self._client.delete_item(
                TableName=self._table,
                Key=to_attr(claim_key(order_id, platform)),
                ConditionExpression="#s = :claimed",
                ExpressionAttributeNames={"#s": "state"},
                ExpressionAttributeValues=to_attr({":claimed": CLAIMED}),
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise

    def settle(self, order_id: str, platform: str, state: str, **fields: Any) -> None:
        """Mark the claim REPORTED or FAILED, with what the platform answered."""
        names = {"#s": "state", "#at": "settled_at"}
        values: dict[str, Any] = {":s": state, ":at": utc_now()}
        sets = ["#s = :s", "#at = :at"]
        for n, (name, value) in enumerate(sorted(fields.items())):
            if value is None:
                continue
            names[f"#f{n}"], values[f":f{n}"] = name, value
            sets.append(f"#f{n} = :f{n}")
        self._client.update_item(
            TableName=self._table,
            Key=to_attr(claim_key(order_id, platform)),
            UpdateExpression="SET " + ", ".join(sets),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=to_attr(values),
        )

    def get(self, order_id: str, platform: str) -> dict[str, Any] | None:
        item = self._client.get_item(
            TableName=self._table, Key=to_attr(claim_key(order_id, platform)), ConsistentRead=True
        ).get("Item")
        return from_attr(item) if item else None
