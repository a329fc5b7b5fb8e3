"""Orders, their timelines, lookups and intake receipts in the main table; outbox items beside."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from chalicelib.domain.errors import AlreadyExists, ConcurrentUpdate, DuplicateEvent
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.order import (
    Address,
    Customer,
    Delivery,
    DeliveryType,
    Order,
    Parcel,
    TimelineEvent,
    Window,
)
from chalicelib.store.dynamo import Transaction, from_attr, query_all, to_attr

RECEIPT_DAYS = 30  # longer than any storefront keeps retrying one event

# An outbox message: its type, or its type and the fields it carries besides the order's.
Message = str | tuple[str, dict[str, Any]]


def order_key(order_id: str) -> dict[str, str]:
    return {"pk": f"ORDER#{order_id}", "sk": "ORDER"}


def _extref_key(merchant_id: str, source: str, external_id: str) -> dict[str, str]:
    return {"pk": f"EXTREF#{merchant_id}#{source}#{quote(external_id, safe='')}", "sk": "EXTREF"}


def _receipt_key(merchant_id: str, source: str, event_id: str) -> dict[str, str]:
    return {"pk": f"RECEIPT#{merchant_id}#{source}#{quote(event_id, safe='')}", "sk": "RECEIPT"}


def _tracking_key(code: str) -> dict[str, str]:
    return {"pk": f"TRACK#{code}", "sk": "TRACK"}


def order_to_item(order: Order) -> dict[str, Any]:
    data = asdict(order)
    return {
        **order_key(order.order_id),
        "entity": "order",
        **data,
        "gsi1pk": f"MERCHANT#{order.merchant_id}",
        "gsi1sk": f"EXT#{quote(order.external_id, safe='')}#{order.created_at}#{order.order_id}",
        "gsi2pk": f"DEPOT#{order.depot_id}#{order.status}",
        "gsi2sk": f"{order.created_at}#{order.order_id}",
    }


def order_from_item(item: dict[str, Any]) -> Order:
    delivery = item["delivery"]
    window = delivery.get("window")
    return Order(
        order_id=item["order_id"],
        merchant_id=item["merchant_id"],
        depot_id=item["depot_id"],
        source=item["source"],
        external_id=item["external_id"],
        tracking_code=item["tracking_code"],
        status=OrderStatus(item["status"]),
        customer=Customer(**item["customer"]),
        address=Address(**item["address"]),
        parcels=tuple(Parcel(**p) for p in item["parcels"]),
        delivery=Delivery(
            type=DeliveryType(delivery["type"]),
            locker_id=delivery.get("locker_id"),
            window=Window(**window) if window else None,
        ),
        created_at=item["created_at"],
        updated_at=item["updated_at"],
        source_updated_at=item.get("source_updated_at"),
        attention_reason=item.get("attention_reason"),
        eta=item.get("eta"),
        route_id=item.get("route_id"),
        run_id=item.get("run_id"),
        unassigned_reason=item.get("unassigned_reason"),
        failed_attempts=int(item.get("failed_attempts", 0)),
        first_attempt=item.get("first_attempt"),
        version=int(item.get("version", 1)),
    )


def event_item(order_id: str, index: int, event: TimelineEvent) -> dict[str, Any]:
    return {
        "pk": f"ORDER#{order_id}",
        "sk": f"EVENT#{event.at}#{index:03d}#{secrets.token_hex(2)}",
        "entity": "timeline",
        **asdict(event),
    }


def outbox_item(
    order_id: str, merchant_id: str, status: str, message_type: str, at: str, **extra: Any
) -> dict[str, Any]:
    """A message for notify/ about an order (the outbox table's stream delivers it)."""
    return {
        "pk": f"ORDER#{order_id}",
        "sk": f"{at}#{message_type}#{secrets.token_hex(4)}",
        "type": message_type,
        "order_id": order_id,
        "merchant_id": merchant_id,
        "status": status,
        "at": at,
        "expires_at": _epoch_in(days=RECEIPT_DAYS),
        **extra,
    }


def _epoch_in(*, days: int) -> int:
    return int((datetime.now(UTC) + timedelta(days=days)).timestamp())


class OrderRepository:
    """Every write is one transaction: the order, its new timeline events, the outbox message
    announcing them and the storefront event's receipt (so a retried event changes nothing)."""

    def __init__(self, client: Any, table: str, outbox_table: str) -> None:
        self._client = client
        self._table = table
        self._outbox = outbox_table

    def create(
        self,
        order: Order,
        events: list[TimelineEvent],
        *,
        messages: list[str],
        receipt: str | None = None,
    ) -> None:
        tx = Transaction()
        tx.put(
            self._table,
            order_to_item(order),
            condition="attribute_not_exists(pk)",
            on_fail=ConcurrentUpdate("order id collision"),
        )
        tx.put(
            self._table,
            {
                **_extref_key(order.merchant_id, order.source, order.external_id),
                "order_id": order.order_id,
            },
            condition="attribute_not_exists(pk)",
            on_fail=AlreadyExists(f"order {order.external_id} from {order.source} exists"),
        )
        tx.put(
            self._table,
            {**_tracking_key(order.tracking_code), "order_id": order.order_id},
            condition="attribute_not_exists(pk)",
            on_fail=ConcurrentUpdate("tracking code collision"),
        )
        self._finish(tx, order, events, messages, receipt)

    def save(
        self,
        order: Order,
        events: list[TimelineEvent],
        *,
        expected_version: int,
        messages: list[Message] | None = None,
        receipt: str | None = None,
        claim: dict[str, str] | None = None,
        tx: Transaction | None = None,
    ) -> None:
        """Write a changed order, provided nobody changed it since it was read. `claim` is the
        key of an item that must not exist yet (another source's event id), written with it;
        `tx` holds writes of other objects (a locker's) that stand or fall with the order's."""
        tx = tx or Transaction()
        tx.put(
            self._table,
            order_to_item(order),
            condition="version = :expected",
            values={":expected": expected_version},
            on_fail=ConcurrentUpdate(f"order {order.order_id} changed meanwhile"),
        )
        if claim is not None:
            tx.put(
                self._table,
                {**claim, "order_id": order.order_id, "expires_at": _epoch_in(days=RECEIPT_DAYS)},
                condition="attribute_not_exists(pk)",
                on_fail=DuplicateEvent(f"event {claim['pk']} was already processed"),
            )
        self._finish(tx, order, events, messages or [], receipt)

    def _finish(
        self,
        tx: Transaction,
        order: Order,
        events: list[TimelineEvent],
        messages: Sequence[Message],
        receipt: str | None,
    ) -> None:
        if receipt is not None:
            tx.put(
                self._table,
                {
                    **_receipt_key(order.merchant_id, order.source, receipt),
                    "order_id": order.order_id,
                    "expires_at": _epoch_in(days=RECEIPT_DAYS),
                },
                condition="attribute_not_exists(pk)",
                on_fail=DuplicateEvent(f"event {receipt} was already processed"),
            )
        for index, event in enumerate(events):
            tx.put(self._table, event_item(order.order_id, index, event))
        for message in messages:
            message_type, extra = (message, {}) if isinstance(message, str) else message
            tx.put(
                self._outbox,
                outbox_item(
                    order.order_id,
                    order.merchant_id,
                    str(order.status),
                    message_type,
                    order.updated_at,
                    **extra,
                ),
            )
        tx.commit(self._client)

    def announce(self, order: Order, message_type: str, at: str, **extra: Any) -> None:
        """An outbox message about an order that did not change (e.g. its van is coming)."""
        item = outbox_item(
            order.order_id, order.merchant_id, str(order.status), message_type, at, **extra
        )
        self._client.put_item(TableName=self._outbox, Item=to_attr(item))

    def claim_once(self, key: dict[str, str], **fields: Any) -> None:
        """Write `key` unless it exists (DuplicateEvent then): an event id seen once."""
        tx = Transaction()
        tx.put(
            self._table,
            {**key, **fields, "expires_at": _epoch_in(days=RECEIPT_DAYS)},
            condition="attribute_not_exists(pk)",
            on_fail=DuplicateEvent(f"event {key['pk']} was already processed"),
        )
        tx.commit(self._client)

    def exists(self, key: dict[str, str]) -> bool:
        return self._get(key) is not None

    def _get(self, key: dict[str, str]) -> dict[str, Any] | None:
        item = self._client.get_item(
            TableName=self._table, Key=to_attr(key), ConsistentRead=True
        ).get("Item")
        return from_attr(item) if item else None

    def record_receipt(self, order: Order, receipt: str) -> None:
        """Remember a storefront event that changed nothing (stale, too late), so a retry of it
        is known as a duplicate; raises DuplicateEvent if it was already remembered."""
        tx = Transaction()
        self._finish(tx, order, [], [], receipt)

    def receipt(self, merchant_id: str, source: str, event_id: str) -> str | None:
        """The order a processed storefront event applied to, or None if it is new."""
        item = self._get(_receipt_key(merchant_id, source, event_id))
        return str(item["order_id"]) if item else None

    def get(self, order_id: str) -> Order | None:
        item = self._get(order_key(order_id))
        return order_from_item(item) if item else None

    def get_with_timeline(self, order_id: str) -> tuple[Order, list[TimelineEvent]] | None:
        order: Order | None = None
        events: list[TimelineEvent] = []
        for item in query_all(
            self._client,
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=to_attr({":pk": f"ORDER#{order_id}"}),
            ConsistentRead=True,
        ):
            if item["sk"] == "ORDER":
                order = order_from_item(item)
            elif item["sk"].startswith("EVENT#"):
                events.append(
                    TimelineEvent(
                        at=item["at"],
                        status=OrderStatus(item["status"]),
                        type=item["type"],
                        note=item.get("note"),
                    )
                )
        return (order, events) if order else None

    def find_by_external(self, merchant_id: str, source: str, external_id: str) -> Order | None:
        item = self._get(_extref_key(merchant_id, source, external_id))
        return self.get(item["order_id"]) if item else None

    def list_for_merchant(self, merchant_id: str, external_id: str | None = None) -> list[Order]:
        condition = "gsi1pk = :pk"
        values: dict[str, Any] = {":pk": f"MERCHANT#{merchant_id}"}
        if external_id is not None:
            condition += " AND begins_with(gsi1sk, :prefix)"
            values[":prefix"] = f"EXT#{quote(external_id, safe='')}#"
        items = query_all(
            self._client,
            TableName=self._table,
            IndexName="gsi1",
            KeyConditionExpression=condition,
            ExpressionAttributeValues=to_attr(values),
        )
        return [order_from_item(item) for item in items]

    def order_id_for_tracking_code(self, code: str) -> str | None:
        item = self._get(_tracking_key(code))
        return str(item["order_id"]) if item else None
