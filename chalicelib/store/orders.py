"""Orders, their timelines, lookups and intake receipts in the main table; outbox items beside."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from pynamodb.exceptions import DeleteError
from pynamodb.expressions.condition import Condition

from chalicelib.domain.errors import AlreadyExists, ConcurrentUpdate, DuplicateEvent
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.money import Money
from chalicelib.domain.order import (
    Address,
    CarrierHandling,
    Customer,
    Delivery,
    DeliveryType,
    Line,
    Order,
    Parcel,
    TimelineEvent,
    Window,
    labels_of,
)
from chalicelib.domain.proof import Proof
from chalicelib.store.mapping import fields_of, read_as
from chalicelib.store.models.base import MainItem
from chalicelib.store.models.orders import (
    AddressAttribute,
    CarrierAttribute,
    CustomerAttribute,
    DeliveryAttribute,
    LineAttribute,
    OrderItem,
    OrderLookupItem,
    OutboxMessageItem,
    ParcelAttribute,
    PriceAttribute,
    ProofItem,
    ReceiptItem,
    TimelineItem,
    WindowAttribute,
)
from chalicelib.store.paging import Key, Page, read_page
from chalicelib.store.reads import get_one
from chalicelib.store.stock import StockRepository
from chalicelib.store.transaction import Transaction, failing_as

logger = logging.getLogger(__name__)

# The order's own fields that the item holds as they are (the rest are typed maps).
_SCALARS = tuple(
    f.name
    for f in fields(Order)
    if f.name
    not in {
        "status",
        "customer",
        "address",
        "parcels",
        "delivery",
        "lines",
        "reserved",
        "shipments",
        "carrier",
    }
)
RECEIPT_TTL = timedelta(days=30)  # longer than any storefront keeps retrying one event

# An outbox message: its type, or its type and the fields it carries besides the order's.
Message = str | tuple[str, dict[str, Any]]


def order_key(order_id: str) -> tuple[str, str]:
    return f"ORDER#{order_id}", "ORDER"


MAX_SORT_KEY_BYTES = 1024  # DynamoDB's limit (an index's sort key too); quoted keys are ASCII


def _extref_key(merchant_id: str, source: str, external_id: str) -> tuple[str, str]:
    return f"EXTREF#{merchant_id}#{source}#{quote(external_id, safe='')}", "EXTREF"


def _receipt_key(merchant_id: str, source: str, event_id: str) -> tuple[str, str]:
    return f"RECEIPT#{merchant_id}#{source}#{quote(event_id, safe='')}", "RECEIPT"


def _tracking_key(code: str) -> tuple[str, str]:
    return f"TRACK#{code}", "TRACK"


def _label_key(label: str) -> tuple[str, str]:
    return f"LABEL#{label}", "LABEL"


def order_to_model(order: Order) -> OrderItem:
    pk, sk = order_key(order.order_id)
    window, price = order.delivery.window, order.delivery.price
    return OrderItem(
        pk,
        sk,
        **{name: getattr(order, name) for name in _SCALARS},
        status=str(order.status),
        customer=CustomerAttribute(**fields_of(order.customer)),
        address=AddressAttribute(**fields_of(order.address)),
        parcels=[ParcelAttribute(**fields_of(p)) for p in order.parcels],
        delivery=DeliveryAttribute(
            type=str(order.delivery.type),
            locker_id=order.delivery.locker_id,
            window=WindowAttribute(**fields_of(window)) if window else None,
            option_id=order.delivery.option_id,
            price=PriceAttribute(**fields_of(price)) if price else None,
        ),
        lines=[LineAttribute(sku=x.sku, quantity=x.quantity) for x in order.lines] or None,
        reserved=[LineAttribute(sku=x.sku, quantity=x.quantity) for x in order.reserved] or None,
        shipments=list(order.shipments) or None,
        carrier=CarrierAttribute(**fields_of(order.carrier)) if order.carrier else None,
        gsi1pk=f"MERCHANT#{order.merchant_id}",
        gsi1sk=f"EXT#{quote(order.external_id, safe='')}#{order.created_at}#{order.order_id}",
        gsi2pk=depot_status_key(order.depot_id, str(order.status)),
        gsi2sk=f"{order.created_at}#{order.order_id}",
        gsi3pk=f"MERCHANT#{order.merchant_id}",
        gsi3sk=f"{order.created_at}#{order.order_id}",
    )


def depot_status_key(depot_id: str, status: str) -> str:
    """The index partition of a depot's orders in one status."""
    return f"DEPOT#{depot_id}#{status}"


def order_from_model(item: OrderItem) -> Order:
    delivery = item.delivery
    window = delivery.window
    scalars = {name: getattr(item, name) for name in _SCALARS}
    # Numbers come back as DynamoDB gives them; counts are whole.
    scalars["failed_attempts"] = int(item.failed_attempts or 0)
    scalars["version"] = int(item.version or 1)
    scalars["capacity_load"] = int(item.capacity_load or 0)
    return Order(
        **scalars,
        status=OrderStatus(item.status),
        customer=Customer(**read_as(Customer, item.customer)),
        address=Address(**read_as(Address, item.address)),
        parcels=tuple(Parcel(**read_as(Parcel, p)) for p in item.parcels),
        delivery=Delivery(
            type=DeliveryType(delivery.type),
            locker_id=delivery.locker_id,
            window=Window(**read_as(Window, window)) if window else None,
            option_id=delivery.option_id,
            price=Money(int(delivery.price.amount), delivery.price.currency)
            if delivery.price
            else None,
        ),
        lines=tuple(Line(x.sku, int(x.quantity)) for x in item.lines or ()),
        reserved=tuple(Line(x.sku, int(x.quantity)) for x in item.reserved or ()),
        shipments=tuple(item.shipments or ()),
        carrier=_carrier(item.carrier),
    )


def _carrier(item: CarrierAttribute | None) -> CarrierHandling | None:
    if item is None:
        return None
    found = read_as(CarrierHandling, item)
    found["fee_amount"] = int(found["fee_amount"])
    for name in ("courier_lat", "courier_lng"):
        found[name] = float(found[name]) if found[name] is not None else None
    return CarrierHandling(**found)


def timeline_model(order_id: str, index: int, event: TimelineEvent) -> TimelineItem:
    return TimelineItem(
        f"ORDER#{order_id}",
        f"EVENT#{event.at}#{index:03d}#{secrets.token_hex(2)}",
        at=event.at,
        status=str(event.status),
        type=event.type,
        note=event.note,
    )


def outbox_message(
    order_id: str, merchant_id: str, status: str, message_type: str, at: str, **extra: Any
) -> OutboxMessageItem:
    """A message for notify/ about an order (the outbox table's stream delivers it)."""
    return OutboxMessageItem(
        f"ORDER#{order_id}",
        f"{at}#{message_type}#{secrets.token_hex(4)}",
        type=message_type,
        order_id=order_id,
        merchant_id=merchant_id,
        status=status,
        at=at,
        fields={k: v for k, v in extra.items() if v is not None},
        expires_at=RECEIPT_TTL,
    )


def message_as_dict(message: OutboxMessageItem) -> dict[str, Any]:
    """An outbox message as its consumers read it: its own fields beside the order's."""
    return {
        "pk": message.pk,
        "sk": message.sk,
        "type": message.type,
        "order_id": message.order_id,
        "merchant_id": message.merchant_id,
        "status": message.status,
        "at": message.at,
        **(message.fields.as_dict() if message.fields else {}),
    }


def message_from_stream(image: dict[str, Any]) -> dict[str, Any]:
    """A stream record's NewImage (DynamoDB JSON) as the message it carries."""
    return message_as_dict(OutboxMessageItem.from_raw_data(image))


def proof_model(proof: Proof) -> ProofItem:
    """The proof of delivery's item (put in the delivered order's transaction)."""
    pk, _ = order_key(proof.order_id)
    return ProofItem(
        pk,
        "PROOF",
        **{
            name: getattr(proof, name)
            for name in (
                "order_id",
                "route_id",
                "at",
                "recipient_name",
                "safe_place",
                "photo_key",
                "signature_key",
                "lat",
                "lng",
            )
        },
        labels_scanned=list(proof.labels_scanned) or None,
        labels_missing=list(proof.labels_missing) or None,
    )


def receipt_model(pk: str, sk: str, order_id: str) -> ReceiptItem:
    return ReceiptItem(pk, sk, order_id=order_id, expires_at=RECEIPT_TTL)


_NEW = OrderItem.pk.does_not_exist()

# Where an order's reserved units go once it reaches these (cancelling releases them in the
# order service's cancel, with its day's capacity): back on the free shelf, or gone with it.
_RETURNS_STOCK = frozenset({OrderStatus.RETURNED})
_TAKES_STOCK = frozenset({OrderStatus.DELIVERED, OrderStatus.IN_LOCKER})


def _settle_stock(tx: Transaction, order: Order) -> Order:
    """In the order's own version-conditional write (so once): a returned order's units free
    again, a delivered one's no longer held; the order then holds nothing."""
    if not order.reserved or order.status not in _RETURNS_STOCK | _TAKES_STOCK:
        return order
    if order.status in _RETURNS_STOCK:
        StockRepository().release(tx, order, day_too=False)
    else:
        StockRepository().consume(tx, order)
    return replace(order, reserved=())


@contextmanager
def _given_back_on_failure(claimed: Sequence[OrderLookupItem]) -> Iterator[None]:
    """Label lookups written ahead of an order's transaction, deleted again if it fails: an
    order refused (a duplicate, a lost race) leaves nothing behind."""
    try:
        yield
    except Exception:
        _give_back(claimed)
        raise


def _give_back(claimed: Sequence[OrderLookupItem]) -> None:
    for lookup in claimed:
        try:
            lookup.delete(condition=OrderLookupItem.order_id == lookup.order_id)
        except DeleteError:
            # Throttled past the SDK's retries: the lookup stays, pointing at no order (inert),
            # and the order's own failure is what the caller hears of.
            logger.warning("label lookup left behind", extra={"key": lookup.pk})


@dataclass(frozen=True)
class OrderQuery:
    """What a merchant's order list is narrowed to; times are ISO 8601 UTC (Z), as stored."""

    status: str | None = None
    external_id: str | None = None
    created_from: str | None = None  # inclusive
    created_to: str | None = None  # exclusive


def _created_range(query: OrderQuery) -> Condition | None:
    """The creation-time index's sort key condition for the asked times."""
    low, high = query.created_from, query.created_to
    if low and high:
        # Inclusive, but a key at `high` is `high#<id>`, past `high`: the end stays exclusive.
        return OrderItem.gsi3sk.between(low, high)
    if low:
        return OrderItem.gsi3sk >= low
    if high:
        return OrderItem.gsi3sk < high
    return None


def _created_filters(query: OrderQuery) -> list[Condition]:
    conditions: list[Condition] = []
    if query.created_from:
        conditions.append(OrderItem.created_at >= query.created_from)
    if query.created_to:
        conditions.append(OrderItem.created_at < query.created_to)
    return conditions


class OrderRepository:
    """Every write is one transaction: the order, its new timeline events, the outbox message
    announcing them and the storefront event's receipt (so a retried event changes nothing)."""

    def create(
        self,
        order: Order,
        events: list[TimelineEvent],
        *,
        messages: Sequence[Message],
        receipt: str | None = None,
        tx: Transaction | None = None,
        shipments: Sequence[tuple[Order, list[TimelineEvent]]] = (),
    ) -> None:
        """A new order, its lookups, timeline, outbox messages and receipt in one transaction;
        `tx` holds writes that stand or fall with it (stock reserved, a day counted), and
        `shipments` the other shipments of a split order (each its own id, tracking code,
        timeline and messages; the storefront's id finds the first, `order`)."""
        claimed = [
            key
            for labelled in (order, *(sibling for sibling, _ in shipments))
            for key in self._claim_labels(labelled, labels_of(labelled))
        ]
        tx = tx or Transaction()
        tx.put(
            OrderLookupItem(
                *_extref_key(order.merchant_id, order.source, order.external_id),
                order_id=order.order_id,
            ),
            condition=_NEW,
            on_fail=AlreadyExists(f"order {order.external_id} from {order.source} exists"),
        )
        for sibling, sibling_events in shipments:
            self._put_new(tx, sibling)
            self._put_events(tx, sibling, sibling_events, messages)
        self._put_new(tx, order)
        with _given_back_on_failure(claimed):
            self._finish(tx, order, events, messages, receipt)

    def _put_new(self, tx: Transaction, order: Order) -> None:
        tx.put(
            order_to_model(order),
            condition=_NEW,
            on_fail=ConcurrentUpdate("order id collision"),
        )
        tx.put(
            OrderLookupItem(*_tracking_key(order.tracking_code), order_id=order.order_id),
            condition=_NEW,
            on_fail=ConcurrentUpdate("tracking code collision"),
        )

    @staticmethod
    def _claim_labels(order: Order, labels: Sequence[str]) -> list[OrderLookupItem]:
        """A lookup item for each new parcel label, so a scan finds its order in one read.
        Written before the order's transaction, one conditional put each, so that an order of
        many parcels never takes its transaction past DynamoDB's 100 items: a lookup whose
        order was then not written is deleted again (`_given_back_on_failure`), and one left by
        a crash points at nothing: a scan of it is a wrong parcel. The lookups this call wrote."""
        claimed: list[OrderLookupItem] = []
        try:
            for label in labels:
                lookup = OrderLookupItem(*_label_key(label), order_id=order.order_id)
                try:
                    with failing_as(ConcurrentUpdate("parcel label collision")):
                        lookup.save(condition=_NEW)
                    claimed.append(lookup)
                except ConcurrentUpdate:
                    existing = get_one(OrderLookupItem, *_label_key(label))
                    if existing is None or existing.order_id != order.order_id:
                        raise
                    # This order's own retry: the label is claimed already.
        except Exception:
            _give_back(claimed)
            raise
        return claimed

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
        new_labels: Sequence[str] = (),
        then: Callable[[Transaction], None] | None = None,
    ) -> None:
        """Write a changed order, provided nobody changed it since it was read. `claim` is the
        key of an item that must not exist yet (another source's event id), written with it;
        `tx` holds writes of other objects (a locker's) that stand or fall with the order's;
        `new_labels` are the parcel labels it gained (their lookups written with it); `then`
        stages more after the order's own (its analytics facts), so that when several
        conditions fail at once the order's is the one reported."""
        claimed = self._claim_labels(order, new_labels)
        tx = tx or Transaction()
        order = _settle_stock(tx, order)
        tx.put(
            order_to_model(order),
            condition=OrderItem.version == expected_version,
            on_fail=ConcurrentUpdate(f"order {order.order_id} changed meanwhile"),
        )
        if claim is not None:
            tx.put(
                receipt_model(claim["pk"], claim["sk"], order.order_id),
                condition=_NEW,
                on_fail=DuplicateEvent(f"event {claim['pk']} was already processed"),
            )
        with _given_back_on_failure(claimed):
            self._finish(tx, order, events, messages or [], receipt, then)

    def _finish(
        self,
        tx: Transaction,
        order: Order,
        events: list[TimelineEvent],
        messages: Sequence[Message],
        receipt: str | None,
        then: Callable[[Transaction], None] | None = None,
    ) -> None:
        if receipt is not None:
            tx.put(
                receipt_model(
                    *_receipt_key(order.merchant_id, order.source, receipt), order.order_id
                ),
                condition=_NEW,
                on_fail=DuplicateEvent(f"event {receipt} was already processed"),
            )
        self._put_events(tx, order, events, messages)
        if then is not None:
            then(tx)
        tx.commit()

    def _put_events(
        self,
        tx: Transaction,
        order: Order,
        events: list[TimelineEvent],
        messages: Sequence[Message],
    ) -> None:
        for index, event in enumerate(events):
            tx.put(timeline_model(order.order_id, index, event))
        for message in messages:
            message_type, extra = (message, {}) if isinstance(message, str) else message
            tx.put(
                outbox_message(
                    order.order_id,
                    order.merchant_id,
                    str(order.status),
                    message_type,
                    order.updated_at,
                    **extra,
                )
            )

    def announce(self, order: Order, message_type: str, at: str, **extra: Any) -> None:
        """An outbox message about an order that did not change (e.g. its van is coming)."""
        outbox_message(
            order.order_id, order.merchant_id, str(order.status), message_type, at, **extra
        ).save()

    def claim_once(self, key: dict[str, str], *, route_id: str) -> None:
        """Write `key` unless it exists (DuplicateEvent then): an event id seen once."""
        with failing_as(DuplicateEvent(f"event {key['pk']} was already processed")):
            ReceiptItem(key["pk"], key["sk"], route_id=route_id, expires_at=RECEIPT_TTL).save(
                condition=_NEW
            )

    def exists(self, key: dict[str, str]) -> bool:
        return get_one(ReceiptItem, key["pk"], key["sk"]) is not None

    def record_receipt(self, order: Order, receipt: str) -> None:
        """Remember a storefront event that changed nothing (stale, too late), so a retry of it
        is known as a duplicate; raises DuplicateEvent if it was already remembered."""
        key = _receipt_key(order.merchant_id, order.source, receipt)
        with failing_as(DuplicateEvent(f"event {receipt} was already processed")):
            receipt_model(*key, order.order_id).save(condition=_NEW)

    def receipt(self, merchant_id: str, source: str, event_id: str) -> str | None:
        """The order a processed storefront event applied to, or None if it is new."""
        item = get_one(ReceiptItem, *_receipt_key(merchant_id, source, event_id))
        return str(item.order_id) if item else None

    def get(self, order_id: str) -> Order | None:
        item = get_one(OrderItem, *order_key(order_id))
        return order_from_model(item) if item else None

    def get_with_timeline(self, order_id: str) -> tuple[Order, list[TimelineEvent]] | None:
        order: Order | None = None
        events: list[TimelineEvent] = []
        pk, _ = order_key(order_id)
        for item in MainItem.query(pk, consistent_read=True):
            if isinstance(item, OrderItem):
                order = order_from_model(item)
            elif isinstance(item, TimelineItem):
                events.append(
                    TimelineEvent(
                        at=item.at, status=OrderStatus(item.status), type=item.type, note=item.note
                    )
                )
        return (order, events) if order else None

    def find_by_external(self, merchant_id: str, source: str, external_id: str) -> Order | None:
        item = get_one(OrderLookupItem, *_extref_key(merchant_id, source, external_id))
        return self.get(item.order_id) if item else None

    def list_for_merchant(self, merchant_id: str, external_id: str | None = None) -> list[Order]:
        condition = None
        if external_id is not None:
            prefix = f"EXT#{quote(external_id, safe='')}#"
            if len(prefix) > MAX_SORT_KEY_BYTES:
                return []  # no stored order has a key this long (DynamoDB refuses the query)
            condition = OrderItem.gsi1sk.startswith(prefix)
        items = OrderItem.by_external.query(f"MERCHANT#{merchant_id}", condition)
        return [order_from_model(item) for item in items]

    def get_proof(self, order_id: str) -> Proof | None:
        item = get_one(ProofItem, order_key(order_id)[0], "PROOF")
        if item is None:
            return None
        return Proof(
            **read_as(Proof, item)
            | {
                "labels_scanned": tuple(item.labels_scanned or ()),
                "labels_missing": tuple(item.labels_missing or ()),
            }
        )

    def order_id_for_label(self, label: str) -> str | None:
        """The order a parcel label belongs to (one read), or None for a label nobody has."""
        item = get_one(OrderLookupItem, *_label_key(label))
        return item.order_id if item else None

    def get_many(self, order_ids: Sequence[str]) -> dict[str, Order]:
        """The orders of `order_ids` that exist, by id (batch reads, 100 keys a request)."""
        keys = [order_key(order_id) for order_id in dict.fromkeys(order_ids)]
        return {
            item.order_id: order_from_model(item)
            for item in OrderItem.batch_get(keys, consistent_read=True)
        }

    def page_for_merchant(
        self, merchant_id: str, query: OrderQuery, *, limit: int, start: Key | None
    ) -> Page[Order]:
        """A page of the merchant's orders, newest first: through the external id index when
        one is asked for (oldest first there: one id, its few orders), else the creation-time
        index with `created_from`/`created_to` as the key's range; `status` filters the page."""
        filters: Condition | None = OrderItem.status == query.status if query.status else None
        if query.external_id is not None:
            prefix = f"EXT#{quote(query.external_id, safe='')}#"
            if len(prefix) > MAX_SORT_KEY_BYTES:
                return Page([], None)  # no stored order has a key this long
            for condition in _created_filters(query):
                filters = condition if filters is None else filters & condition
            page = read_page(
                OrderItem,
                lambda **more: OrderItem.by_external.query(
                    f"MERCHANT#{merchant_id}",
                    OrderItem.gsi1sk.startswith(prefix),
                    filter_condition=filters,
                    **more,
                ),
                limit=limit,
                start=start,
            )
        else:
            page = read_page(
                OrderItem,
                lambda **more: OrderItem.by_created.query(
                    f"MERCHANT#{merchant_id}",
                    _created_range(query),
                    filter_condition=filters,
                    scan_index_forward=False,
                    **more,
                ),
                limit=limit,
                start=start,
            )
        return Page([order_from_model(item) for item in page.items], page.last_key)

    def order_id_for_tracking_code(self, code: str) -> str | None:
        item = get_one(OrderLookupItem, *_tracking_key(code))
        return item.order_id if item else None
