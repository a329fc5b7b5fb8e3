"""TEMPORARY while the store moves to PynamoDB: the dict-shaped order items of the modules not
moved yet, written in the models' shape (discriminator, outbox fields). Deleted when the last
user is gone."""

from __future__ import annotations

import secrets
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

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

RECEIPT_DAYS = 30


def order_key(order_id: str) -> dict[str, str]:
    return {"pk": f"ORDER#{order_id}", "sk": "ORDER"}


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
        "entity": "message",
        "type": message_type,
        "order_id": order_id,
        "merchant_id": merchant_id,
        "status": status,
        "at": at,
        "expires_at": _epoch_in(days=RECEIPT_DAYS),
        "fields": {k: v for k, v in extra.items() if v is not None},
    }


def _epoch_in(*, days: int) -> int:
    return int((datetime.now(UTC) + timedelta(days=days)).timestamp())
