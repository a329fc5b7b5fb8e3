"""The canonical Order every storefront's payload is translated into, and its timeline."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any, Literal, get_args

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.lifecycle import OrderStatus, check_move
from chalicelib.domain.money import Money
from chalicelib.domain.times import utc_now

# The outbox messages about an order that its customer and its merchant's endpoints hear of.
OrderMessage = Literal[
    "order.confirmed",
    "order.planned",
    "order.out_for_delivery",
    "order.arriving",
    "order.delayed",
    "order.retimed",  # a live re-plan moved its ETA (an order inserted into its route)
    "order.delivered",
    "order.failed",
    "order.in_locker",
    "order.pickup_reminder",
    "order.collected",
    "order.locker_expired",
    "order.locker_full",
    "order.cancelled",
    "order.replanning",  # told "planned", then the run failed: a new time will follow
    "order.needs_attention",  # no run can plan it as it stands: the merchant acts
]
ORDER_MESSAGES: tuple[str, ...] = get_args(OrderMessage)


# The store keys an order's lookups by its external id and a storefront event's receipt by its
# event id, percent-encoded (up to 3 bytes for each byte of UTF-8): these keep the merchant
# index's sort key under DynamoDB's 1,024 bytes and a receipt's key under 2,048, whatever the
# characters. Counted in bytes, not characters: 128 emoji are 512 bytes.
MAX_EXTERNAL_ID_BYTES = 255
MAX_EVENT_ID_BYTES = 512


def utf8_bytes(value: str) -> int:
    """How many bytes `value` takes in UTF-8 (what DynamoDB counts); ValueError if it cannot be
    encoded at all (a lone surrogate, which JSON's `\\ud800` escape can carry)."""
    try:
        return len(value.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise ValueError("is not valid Unicode text") from exc


def check_id(value: str, *, field: str, max_bytes: int) -> str:
    """`value` if it is a non-empty id of at most `max_bytes` UTF-8 bytes; ValidationFailed
    naming `field` otherwise."""
    try:
        size = utf8_bytes(value)
    except ValueError as exc:
        raise ValidationFailed(f"{field}: {exc}", field=field) from exc
    if not value.strip():
        raise ValidationFailed(f"{field}: must not be empty", field=field)
    if size > max_bytes:
        raise ValidationFailed(
            f"{field}: must be at most {max_bytes} bytes in UTF-8 (is {size})", field=field
        )
    return value


class DeliveryType(StrEnum):
    HOME = "home"
    LOCKER = "locker"


@dataclass(frozen=True)
class Customer:
    name: str
    email: str | None = None
    phone: str | None = None

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.strip() else ""


@dataclass(frozen=True)
class Address:
    line1: str
    city: str
    postcode: str
    country: str
    line2: str | None = None
    lat: float | None = None
    lng: float | None = None

    @property
    def has_coordinates(self) -> bool:
        return self.lat is not None and self.lng is not None


@dataclass(frozen=True)
class Parcel:
    weight_kg: float
    size: str | None = None
    # Printed on it (Code 128 and QR); None only on an order stored before parcels had labels.
    label: str | None = None


LABEL_PREFIX = "LM"


def new_label() -> str:
    """An unguessable parcel label: LM and 80 random bits in base32 (16 characters, A-Z 2-7:
    Code 128 and QR print it without ambiguity, a scanner reads it back exactly)."""
    return LABEL_PREFIX + base64.b32encode(secrets.token_bytes(10)).decode("ascii")


def labelled(parcels: tuple[Parcel, ...], keep: tuple[Parcel, ...] = ()) -> tuple[Parcel, ...]:
    """`parcels` each with a label: the one its position had in `keep` (a storefront's update
    keeps the labels already printed), a new one where there was none."""
    kept = [p.label for p in keep] + [None] * len(parcels)
    return tuple(replace(p, label=kept[i] or p.label or new_label()) for i, p in enumerate(parcels))


def labels_of(order: Order) -> tuple[str, ...]:
    """The labels of the order's parcels, in order (those it has)."""
    return tuple(p.label for p in order.parcels if p.label)


@dataclass(frozen=True)
class Line:
    """One line of what was bought: a SKU and how many (what allocation reserves)."""

    sku: str
    quantity: int


@dataclass(frozen=True)
class Window:
    start: str  # ISO 8601 with offset
    end: str


@dataclass(frozen=True)
class Delivery:
    type: DeliveryType = DeliveryType.HOME
    locker_id: str | None = None
    window: Window | None = None
    option_id: str | None = None  # the delivery option it redeemed (delivery_options/)
    price: Money | None = None  # what the customer paid for the option


@dataclass(frozen=True)
class OrderDraft:
    """What a storefront asks for: the canonical order before it has an identity."""

    external_id: str
    customer: Customer
    address: Address
    parcels: tuple[Parcel, ...]
    delivery: Delivery = field(default_factory=Delivery)
    lines: tuple[Line, ...] = ()


@dataclass(frozen=True)
class CarrierHandling:
    """A partner carrier that took the order (chalicelib/carriers): its job, its last status
    applied (in the carrier's words), the fee it charges (minor units) and, when it sent one,
    where its courier was."""

    name: str
    job_id: str
    status: str
    fee_amount: int
    fee_currency: str
    quote_id: str
    courier_lat: float | None = None
    courier_lng: float | None = None
    courier_at: str | None = None

    def view(self) -> dict[str, Any]:
        """As the merchant and operator read it on the order."""
        return {
            "name": self.name,
            "job_id": self.job_id,
            "status": self.status,
            "fee": {"amount": self.fee_amount, "currency": self.fee_currency},
            "quote_id": self.quote_id,
        }


@dataclass(frozen=True)
class TimelineEvent:
    at: str
    status: OrderStatus
    type: str
    note: str | None = None


@dataclass(frozen=True)
class Order:
    order_id: str
    merchant_id: str
    depot_id: str
    source: str
    external_id: str
    tracking_code: str
    status: OrderStatus
    customer: Customer
    address: Address
    parcels: tuple[Parcel, ...]
    delivery: Delivery
    created_at: str
    updated_at: str
    source_updated_at: str | None = None
    attention_reason: str | None = None
    eta: str | None = None
    # The window told with the ETA (domain/eta_windows.py), recorded when told: every reader
    # shows this one, not one worked out again later.
    eta_from: str | None = None
    eta_to: str | None = None
    route_id: str | None = None  # the route it is planned on (set by a dispatch run's commit)
    run_id: str | None = None  # the last dispatch run that planned or passed over it
    unassigned_reason: str | None = None  # why that run left it out (it waits for the next)
    failed_attempts: int = 0
    first_attempt: bool | None = None  # delivered at the first attempt (set when delivered)
    version: int = 1
    # Allocation (allocation/): what it carries, what of that its depot's stock holds for it
    # (SKUs the depot tracks), the local day whose capacity it counts in, and the shipments an
    # order split into (every shipment lists them all; the others name the first in
    # `shipment_of`).
    lines: tuple[Line, ...] = ()
    reserved: tuple[Line, ...] = ()
    promised_day: str | None = None
    capacity_load: int = 0  # what it counts against its depot's capacity on promised_day
    shipment_of: str | None = None
    shipments: tuple[str, ...] = ()
    carrier: CarrierHandling | None = None  # a partner carrier delivers it, not our fleet

    def moved_to(self, target: OrderStatus, *, at: str, reason: str | None = None) -> Order:
        """This order in `target` status; raises IllegalTransition for a move not allowed."""
        check_move(self.status, target)
        # Out of needs_attention (a person amended it), the last run's reason no longer holds:
        # the order counts as new towards the depot's rolling trigger again.
        fixed = self.status is OrderStatus.NEEDS_ATTENTION and target is not self.status
        return replace(
            self,
            status=target,
            updated_at=at,
            attention_reason=reason if target is OrderStatus.NEEDS_ATTENTION else None,
            unassigned_reason=None if fixed else self.unassigned_reason,
            version=self.version + 1,
        )


def new_order_id() -> str:
    return "ord_" + secrets.token_hex(10)


def new_tracking_code() -> str:
    """An unguessable public code: 80 random bits, URL-safe, no ambiguous characters."""
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # 32 symbols, 5 bits each
    return "".join(secrets.choice(alphabet) for _ in range(16))


NO_COORDINATES = "address has no usable coordinates"
# Why intake found no depot for an order (allocation/): a new address alone does not clear these.
OUT_OF_AREA = "out_of_area"
OUT_OF_STOCK = "out_of_stock"
PAST_CUTOFF = "past_cutoff"
OVER_CAPACITY = "over_capacity"
ALLOCATION_REASONS = frozenset({OUT_OF_AREA, OUT_OF_STOCK, PAST_CUTOFF, OVER_CAPACITY})


def receive(
    draft: OrderDraft,
    *,
    merchant_id: str,
    depot_id: str,
    source: str,
    source_updated_at: str | None = None,
    at: str | None = None,
    attention_reason: str = NO_COORDINATES,
    order_id: str | None = None,
    held: bool = False,
) -> tuple[Order, list[TimelineEvent]]:
    """A new order from a draft, moved on to ready or, without coordinates (or `held`: no
    depot can serve it), needs attention with `attention_reason`."""
    at = at or utc_now()
    order = Order(
        order_id=order_id or new_order_id(),
        merchant_id=merchant_id,
        depot_id=depot_id,
        source=source,
        external_id=draft.external_id,
        tracking_code=new_tracking_code(),
        status=OrderStatus.RECEIVED,
        customer=draft.customer,
        address=draft.address,
        parcels=labelled(draft.parcels),
        delivery=draft.delivery,
        created_at=at,
        updated_at=at,
        source_updated_at=source_updated_at,
        lines=draft.lines,
    )
    events = [TimelineEvent(at=at, status=OrderStatus.RECEIVED, type="order.received")]
    order, event = triage(order, at=at, reason=attention_reason, held=held)
    events.append(event)
    return order, events


def triage(
    order: Order, *, at: str, reason: str = NO_COORDINATES, held: bool = False
) -> tuple[Order, TimelineEvent]:
    """Ready when the address can be routed to (and nothing else holds it); otherwise held with
    the reason, never dropped."""
    if order.address.has_coordinates and not held:
        moved = order.moved_to(OrderStatus.READY, at=at)
        return moved, TimelineEvent(at=at, status=moved.status, type="order.ready")
    moved = order.moved_to(OrderStatus.NEEDS_ATTENTION, at=at, reason=reason)
    return moved, TimelineEvent(
        at=at, status=moved.status, type="order.needs_attention", note=reason
    )


def needs_triage(order: Order) -> bool:
    """A fixed address releases a held order (not one no depot could serve: nothing is reserved
    for it); an address without coordinates holds it."""
    held_for_address = order.attention_reason not in ALLOCATION_REASONS
    return (
        order.status is OrderStatus.NEEDS_ATTENTION
        and order.address.has_coordinates
        and held_for_address
    ) or (order.status is OrderStatus.READY and not order.address.has_coordinates)


def revise(order: Order, draft: OrderDraft, *, source_updated_at: str | None, at: str) -> Order:
    """The order with the storefront's newer content (the caller checks it is editable)."""
    return replace(
        order,
        customer=draft.customer,
        address=draft.address,
        parcels=labelled(draft.parcels, keep=order.parcels),
        delivery=draft.delivery,
        source_updated_at=source_updated_at,
        updated_at=at,
        version=order.version + 1,
    )


def order_as_json(order: Order) -> dict[str, Any]:
    """An order as plain JSON (a dispatch run's snapshot in S3); `order_from_json` reads it."""
    data = asdict(order)
    data["status"] = str(order.status)
    data["delivery"]["type"] = str(order.delivery.type)
    data["parcels"] = list(data["parcels"])
    data["lines"] = list(data["lines"])
    data["reserved"] = list(data["reserved"])
    data["shipments"] = list(data["shipments"])
    return data


def order_from_json(data: Mapping[str, Any]) -> Order:
    """The order `order_as_json` wrote (fields it does not know, such as a store key, ignored)."""
    delivery = data["delivery"]
    window = delivery.get("window")
    return Order(
        order_id=data["order_id"],
        merchant_id=data["merchant_id"],
        depot_id=data["depot_id"],
        source=data["source"],
        external_id=data["external_id"],
        tracking_code=data["tracking_code"],
        status=OrderStatus(data["status"]),
        customer=Customer(**data["customer"]),
        address=Address(**data["address"]),
        parcels=tuple(Parcel(**p) for p in data["parcels"]),
        delivery=Delivery(
            type=DeliveryType(delivery["type"]),
            locker_id=delivery.get("locker_id"),
            window=Window(**window) if window else None,
        ),
        created_at=data["created_at"],
        updated_at=data["updated_at"],
        source_updated_at=data.get("source_updated_at"),
        attention_reason=data.get("attention_reason"),
        eta=data.get("eta"),
        eta_from=data.get("eta_from"),
        eta_to=data.get("eta_to"),
        route_id=data.get("route_id"),
        run_id=data.get("run_id"),
        unassigned_reason=data.get("unassigned_reason"),
        failed_attempts=int(data.get("failed_attempts", 0)),
        first_attempt=data.get("first_attempt"),
        version=int(data.get("version", 1)),
        lines=tuple(Line(str(x["sku"]), int(x["quantity"])) for x in data.get("lines") or ()),
        reserved=tuple(Line(str(x["sku"]), int(x["quantity"])) for x in data.get("reserved") or ()),
        promised_day=data.get("promised_day"),
        capacity_load=int(data.get("capacity_load", 0)),
        shipment_of=data.get("shipment_of"),
        shipments=tuple(data.get("shipments") or ()),
        carrier=CarrierHandling(**data["carrier"]) if data.get("carrier") else None,
    )
