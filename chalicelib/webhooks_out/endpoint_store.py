"""Webhook endpoints in the main table beside their merchant (pk `MERCHANT#<id>`, sk
`ENDPOINT#<endpoint_id>`), with a counter item that holds the per-merchant limit under
concurrent registrations, and the failure record that disables an endpoint."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib.store.dynamo import Transaction, error_code, from_attr, query_all, to_attr
from chalicelib.webhooks_out.endpoints import Endpoint, EndpointLimitReached, EndpointNotFound

ENTITY = "webhook_endpoint"


def endpoint_key(merchant_id: str, endpoint_id: str) -> dict[str, str]:
    return {"pk": f"MERCHANT#{merchant_id}", "sk": f"ENDPOINT#{endpoint_id}"}


def _counter_key(merchant_id: str) -> dict[str, str]:
    return {"pk": f"MERCHANT#{merchant_id}", "sk": "ENDPOINTS"}


def _from_item(item: dict[str, Any]) -> Endpoint:
    return Endpoint(
        endpoint_id=item["endpoint_id"],
        merchant_id=item["merchant_id"],
        url=item["url"],
        types=tuple(item.get("types") or ()),
        created_at=item["created_at"],
        disabled_at=item.get("disabled_at"),
        disabled_reason=item.get("disabled_reason"),
        failing_since=item.get("failing_since"),
        abandoned_in_a_row=int(item.get("abandoned_in_a_row", 0)),
    )


class EndpointRepository:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def add(self, endpoint: Endpoint, limit: int) -> None:
        """Store the endpoint unless the merchant already has `limit` of them."""
        tx = Transaction()
        tx.update(
            self._table,
            _counter_key(endpoint.merchant_id),
            expression="SET #n = if_not_exists(#n, :zero) + :one",
            condition="attribute_not_exists(#n) OR #n < :limit",
            names={"#n": "endpoints"},
            values={":zero": 0, ":one": 1, ":limit": limit},
            on_fail=EndpointLimitReached(f"a merchant has at most {limit} webhook endpoints"),
        )
        tx.put(
            self._table,
            {
                **endpoint_key(endpoint.merchant_id, endpoint.endpoint_id),
                "entity": ENTITY,
                "endpoint_id": endpoint.endpoint_id,
                "merchant_id": endpoint.merchant_id,
                "url": endpoint.url,
                "types": list(endpoint.types),
                "created_at": endpoint.created_at,
                "abandoned_in_a_row": 0,
            },
            condition="attribute_not_exists(pk)",
            on_fail=EndpointLimitReached("endpoint id collision, try again"),
        )
        tx.commit(self._client)

    def remove(self, merchant_id: str, endpoint_id: str) -> None:
        tx = Transaction()
        # Transaction has no delete helper; a Delete is written as DynamoDB takes it.
        tx.items.append(
            {
                "Delete": {
                    "TableName": self._table,
                    "Key": to_attr(endpoint_key(merchant_id, endpoint_id)),
                    "ConditionExpression": "attribute_exists(pk)",
                }
            }
        )
        tx.failures.append(EndpointNotFound(f"no webhook endpoint {endpoint_id}"))
        tx.update(
            self._table,
            _counter_key(merchant_id),
            expression="SET #n = #n - :one",
            condition="#n > :zero",
            names={"#n": "endpoints"},
            values={":zero": 0, ":one": 1},
        )
        tx.commit(self._client)

    def list(self, merchant_id: str) -> list[Endpoint]:
        return [
            _from_item(item)
            for item in query_all(
                self._client,
                TableName=self._table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :ep)",
                ExpressionAttributeValues=to_attr(
                    {":pk": f"MERCHANT#{merchant_id}", ":ep": "ENDPOINT#"}
                ),
                ConsistentRead=True,
            )
        ]

    def get(self, merchant_id: str, endpoint_id: str) -> Endpoint | None:
        item = self._client.get_item(
            TableName=self._table,
            Key=to_attr(endpoint_key(merchant_id, endpoint_id)),
            ConsistentRead=True,
        ).get("Item")
        return _from_item(from_attr(item)) if item else None

    def enable(self, merchant_id: str, endpoint_id: str) -> Endpoint:
        updated = self._update(
            merchant_id,
            endpoint_id,
            "REMOVE disabled_at, disabled_reason, failing_since SET abandoned_in_a_row = :zero",
            {":zero": 0},
        )
        if updated is None:
            raise EndpointNotFound(f"no webhook endpoint {endpoint_id}")
        return _from_item(updated)

    # The failure record. Each returns None when the endpoint was deleted meanwhile.

    def succeeded(self, merchant_id: str, endpoint_id: str) -> None:
        self._update(
            merchant_id,
            endpoint_id,
            "REMOVE failing_since SET abandoned_in_a_row = :zero",
            {":zero": 0},
        )

    def failed(self, merchant_id: str, endpoint_id: str, at: str) -> str | None:
        """Note a failed attempt; returns since when the endpoint has been failing."""
        updated = self._update(
            merchant_id,
            endpoint_id,
            "SET failing_since = if_not_exists(failing_since, :at)",
            {":at": at},
        )
        return None if updated is None else updated.get("failing_since")

    def abandoned(self, merchant_id: str, endpoint_id: str) -> int | None:
        """Note an abandoned delivery; returns how many in a row."""
        updated = self._update(merchant_id, endpoint_id, "ADD abandoned_in_a_row :one", {":one": 1})
        return None if updated is None else int(updated.get("abandoned_in_a_row", 0))

    def disable(self, merchant_id: str, endpoint_id: str, at: str, reason: str) -> bool:
        """True when this call disabled it (False: deleted, or disabled already)."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=to_attr(endpoint_key(merchant_id, endpoint_id)),
                UpdateExpression="SET disabled_at = :at, disabled_reason = :reason",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(disabled_at)",
                ExpressionAttributeValues=to_attr({":at": at, ":reason": reason}),
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _update(
        self, merchant_id: str, endpoint_id: str, expression: str, values: dict[str, Any]
    ) -> dict[str, Any] | None:
        try:
            answer = self._client.update_item(
                TableName=self._table,
                Key=to_attr(endpoint_key(merchant_id, endpoint_id)),
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues=to_attr(values),
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return None
            raise
        return from_attr(answer["Attributes"])
