"""WooCommerce order webhooks: HMAC verification, the unsigned creation ping, translation. The
topic header is not signed: the action is read from the signed body (its `status`; a body of
only an id is what WooCommerce sends when an order is deleted)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from chalicelib.domain.times import storable
from chalicelib.intake.canonical import ExternalId, parse_order, stored_time, validation_failed
from chalicelib.intake.signatures import verify_base64_hmac
from chalicelib.orders.service import Action, Ignored, Inbound

SOURCE = "woocommerce"
ORDER_TOPICS = {"order.created", "order.updated", "order.deleted", "order.restored"}
# Statuses in which the shop will not ship: the order leaves (or never enters) the plan.
CANCELLED_STATUSES = {"cancelled", "refunded", "failed", "trash"}
# Not paid yet (bank transfer, cheque, abandoned payment): nothing to deliver until it is.
WAITING_STATUSES = {"pending", "checkout-draft"}
DEFAULT_PARCEL_KG = 1.0  # WooCommerce orders carry no weights; a plugin may set _lastmile_weight_kg
PING = re.compile(rb"^webhook_id=\d+$")


def is_ping(raw_body: bytes, content_type: str | None) -> bool:
    """WooCommerce's unsigned request when a webhook is created: `webhook_id=<id>`, a form."""
    return (content_type or "").startswith("application/x-www-form-urlencoded") and bool(
        PING.match(raw_body.strip())
    )


def verify(raw_body: bytes, signature: str | None, secrets: Iterable[str]) -> None:
    """X-WC-Webhook-Signature is the base64 HMAC-SHA256 of the raw body."""
    verify_base64_hmac(raw_body, signature, secrets, header="X-WC-Webhook-Signature")


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class WooAddress(_Model):
    first_name: str | None = None
    last_name: str | None = None
    address_1: str | None = None
    address_2: str | None = None
    city: str | None = None
    postcode: str | None = None
    country: str | None = None
    email: str | None = None
    phone: str | None = None


class WooMeta(_Model):
    key: str
    value: Any = None


class WooLineItem(_Model):
    quantity: int = Field(ge=0, le=1_000_000)
    sku: str | None = None


class WooShippingLine(_Model):
    method_id: str | None = None


def _gmt(moment: datetime) -> datetime:
    # WooCommerce's `_gmt` dates carry no offset: they are UTC by name.
    return storable(moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment)


GmtTime = Annotated[datetime, AfterValidator(_gmt)]


class WooDeleted(_Model):
    """What WooCommerce sends when an order is deleted: its id, nothing else."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)
    id: ExternalId


class WooOrder(_Model):
    id: ExternalId
    status: str = Field(max_length=64)
    date_modified_gmt: GmtTime | None = None
    billing: WooAddress = WooAddress()
    shipping: WooAddress = WooAddress()
    line_items: list[WooLineItem] = Field(default_factory=list, max_length=500)
    shipping_lines: list[WooShippingLine] = Field(default_factory=list)
    meta_data: list[WooMeta] = Field(default_factory=list)

    def meta(self, key: str) -> Any:
        return next((m.value for m in self.meta_data if m.key == key), None)


def event_id(order: WooOrder) -> str:
    # X-WC-Webhook-Delivery-ID is only unique per second; the order's own modification time is
    # what identifies one version of it (in WooCommerce's own spelling, UTC without offset).
    modified = order.date_modified_gmt
    if modified is None:
        return f"{order.id}@unknown"
    return f"{order.id}@{modified.astimezone(UTC):%Y-%m-%dT%H:%M:%S}"


def translate(topic: str, payload: Any) -> Inbound | Ignored:
    """The Inbound a delivery under an order topic asks for, decided by its body alone."""
    if topic not in ORDER_TOPICS:
        return Ignored(f"topic {topic[:80]!r} is not handled")
    if isinstance(payload, dict) and payload.keys() == {"id"}:
        try:
            deleted = WooDeleted.model_validate(payload)
        except ValidationError as exc:
            raise validation_failed(exc) from exc
        return Inbound(
            source=SOURCE,
            action=Action.CANCEL,
            external_id=deleted.id,
            event_id=f"{deleted.id}@deleted",
        )
    try:
        order = WooOrder.model_validate(payload)
    except ValidationError as exc:
        raise validation_failed(exc) from exc
    updated = stored_time(order.date_modified_gmt)
    if order.status in CANCELLED_STATUSES:
        return Inbound(
            source=SOURCE,
            action=Action.CANCEL,
            external_id=order.id,
            event_id=event_id(order),
            source_updated_at=updated,
        )
    if order.status in WAITING_STATUSES:
        return Ignored(f"order is {order.status}: awaiting payment")
    if any(line.method_id == "local_pickup" for line in order.shipping_lines):
        return Ignored("order is for local pickup")
    return Inbound(
        source=SOURCE,
        action=Action.UPSERT,
        external_id=order.id,
        draft=parse_order(canonical(order)),
        event_id=event_id(order),
        source_updated_at=updated,
    )


def _coordinate(value: Any) -> float | None:
    """A number from meta data (WooCommerce stores them as text); None when it is none. An
    infinite one stays so, for the canonical order to refuse by name."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    except OverflowError:  # an integer past float's range
        return math.inf
    return number


def canonical(order: WooOrder) -> dict[str, Any]:
    ship, bill = order.shipping, order.billing
    name = " ".join(p for p in (ship.first_name, ship.last_name) if p)
    name = name or " ".join(p for p in (bill.first_name, bill.last_name) if p)
    weight = _coordinate(order.meta("_lastmile_weight_kg")) or DEFAULT_PARCEL_KG
    delivery: dict[str, Any] = {"type": order.meta("_lastmile_delivery_type") or "home"}
    if order.meta("_lastmile_locker_id"):
        delivery["locker_id"] = order.meta("_lastmile_locker_id")
    return {
        "external_id": order.id,
        "customer": {
            "name": name,
            "email": bill.email or None,
            "phone": ship.phone or bill.phone or None,
        },
        "address": {
            "line1": ship.address_1,
            "line2": ship.address_2 or None,
            "city": ship.city,
            "postcode": ship.postcode,
            "country": ship.country,
            "lat": _coordinate(order.meta("_shipping_lat")),
            "lng": _coordinate(order.meta("_shipping_lng")),
        },
        "parcels": [{"weight_kg": weight}],
        "delivery": delivery,
        "lines": [
            {"sku": line.sku, "quantity": line.quantity}
            for line in order.line_items
            if line.sku and line.quantity
        ],
    }
