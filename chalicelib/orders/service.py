"""Intake and reading of orders. Every source (Shopify, WooCommerce, Standard Webhooks, Stripe,
the direct API) ends in `OrderService.ingest`: the same validation, dedupe and transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from chalicelib.allocation.rules import Plan, Shipment
from chalicelib.allocation.service import Allocator, shipment_parcels
from chalicelib.analytics.recorder import FactRecorder
from chalicelib.domain.errors import (
    AlreadyExists,
    CapacityFull,
    ConcurrentUpdate,
    DuplicateEvent,
    IllegalTransition,
    OptionExpired,
    OrderNotFound,
    StockShort,
    ValidationFailed,
)
from chalicelib.domain.lifecycle import EDITABLE, OrderStatus, can_move
from chalicelib.domain.order import (
    MAX_EVENT_ID_BYTES,
    MAX_EXTERNAL_ID_BYTES,
    NO_COORDINATES,
    OUT_OF_STOCK,
    OVER_CAPACITY,
    Address,
    DeliveryType,
    Order,
    OrderDraft,
    TimelineEvent,
    check_id,
    labels_of,
    needs_triage,
    new_order_id,
    receive,
    revise,
    triage,
    utf8_bytes,
)
from chalicelib.domain.tenancy import Merchant
from chalicelib.domain.times import parse_iso, utc_now
from chalicelib.geocoding import Geocoder, NoGeocoder, NotLocated
from chalicelib.store.orders import Message, OrderQuery, OrderRepository
from chalicelib.store.paging import Key, Page
from chalicelib.store.transaction import Transaction

logger = Logger(child=True)

ATTEMPTS = 4  # re-reads after losing a race with a concurrent write of the same order
# Allocations again after a concurrent order took the stock or the capacity planned on; then
# the order waits for a person (out_of_stock / over_capacity) rather than retrying for ever.
ALLOCATION_ATTEMPTS = 3


class Action(StrEnum):
    UPSERT = "upsert"  # create, or update when the storefront's copy is newer
    CANCEL = "cancel"


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    CANCELLED = "cancelled"
    DUPLICATE = "duplicate"
    STALE = "stale"
    IGNORED = "ignored"


@dataclass(frozen=True)
class Inbound:
    """One storefront event, translated: what to do to which order."""

    source: str
    action: Action
    external_id: str
    draft: OrderDraft | None = None
    event_id: str | None = None
    source_updated_at: str | None = None


@dataclass(frozen=True)
class Ignored:
    """A storefront event that asks nothing of lastmile (acknowledged, logged, not stored)."""

    reason: str


@dataclass(frozen=True)
class IntakeResult:
    outcome: Outcome
    order: Order | None = None
    reason: str | None = None


class RouteEditor(Protocol):
    def remove_from_route(self, order: Order) -> None: ...


class OptionRedeemer(Protocol):
    """Delivery options (chalicelib/delivery_options): an order carrying one books its hold."""

    def redeemable(self, merchant_id: str, option_id: str) -> Any: ...

    def redeem(self, tx: Transaction, option: Any, order_id: str) -> None: ...


# The attention reason of a storefront's order whose delivery option had lapsed.
OPTION_EXPIRED = "option_expired"


class OrderService:
    def __init__(
        self,
        orders: OrderRepository,
        geocoder: Geocoder | None = None,
        clock: Callable[[], str] = utc_now,
        routes: RouteEditor | None = None,
        allocator: Allocator | None = None,
        facts: FactRecorder | None = None,
        options: OptionRedeemer | None = None,
    ) -> None:
        self._orders = orders
        self._geocoder = geocoder or NoGeocoder()
        self._clock = clock
        self._routes = routes
        self._allocator = allocator
        self._facts = facts  # analytics: a cancellation's fact, in its transaction
        self._options = options

    def _locate(self, address: Address) -> tuple[Address, str]:
        """The address with coordinates when the geocoder finds them; else why not."""
        if address.has_coordinates:
            return address, ""
        found = self._geocoder.locate(address)
        if isinstance(found, NotLocated):
            return address, found.reason
        return replace(address, lat=found.lat, lng=found.lng), ""

    def ingest(self, merchant: Merchant, inbound: Inbound) -> IntakeResult:
        """Apply one storefront event exactly once, whatever the retries and races."""
        # Every edge bounds these under its own names; this is the store's last word on its keys.
        check_id(inbound.external_id, field="external_id", max_bytes=MAX_EXTERNAL_ID_BYTES)
        if inbound.event_id is not None:
            check_id(inbound.event_id, field="event_id", max_bytes=MAX_EVENT_ID_BYTES)
        if inbound.source_updated_at is not None and _instant(inbound.source_updated_at) is None:
            raise ValidationFailed("updated_at: not an ISO 8601 time", field="updated_at")
        for _ in range(ATTEMPTS):
            if inbound.event_id:
                seen = self._orders.receipt(merchant.merchant_id, inbound.source, inbound.event_id)
                if seen is not None:
                    return IntakeResult(Outcome.DUPLICATE, self._orders.get(seen))
            existing = self._orders.find_by_external(
                merchant.merchant_id, inbound.source, inbound.external_id
            )
            try:
                if inbound.action is Action.CANCEL:
                    return self._cancel(existing, inbound)
                if existing is None:
                    return self._create(merchant, inbound)
                return self._update(existing, inbound)
            except (AlreadyExists, ConcurrentUpdate, DuplicateEvent):
                logger.info(
                    "lost a race; reading again", extra={"external_id": inbound.external_id}
                )
        raise ConcurrentUpdate(f"order {inbound.external_id} is being changed; retry later")

    def _create(
        self, merchant: Merchant, inbound: Inbound, *, option_lost: bool = False
    ) -> IntakeResult:
        assert inbound.draft is not None
        address, reason = self._locate(inbound.draft.address)
        draft = replace(inbound.draft, address=address)
        option = None
        option_id = draft.delivery.option_id
        if option_id and self._options is not None and not option_lost:
            try:
                option = self._options.redeemable(merchant.merchant_id, option_id)
            except OptionExpired:
                if inbound.source == "api":
                    raise  # 409: the merchant's own call learns it at once
                option_lost = True
        if option_lost:
            # A storefront's order is never lost for an option that lapsed: it waits for the
            # merchant to choose again, with the reason (docs/payments.md).
            return self._create_held(merchant, inbound, draft, reason or OPTION_EXPIRED)
        if option is not None:
            # Delivered in the window the customer chose, at the price they paid.
            delivery = replace(draft.delivery, window=option.window, price=option.price)
            if option.locker_id:
                delivery = replace(delivery, type=DeliveryType.LOCKER, locker_id=option.locker_id)
            draft = replace(draft, delivery=delivery)
        try:
            return self._allocate(merchant, inbound, draft, reason, option)
        except OptionExpired:
            if inbound.source == "api":
                raise
            return self._create(merchant, inbound, option_lost=True)

    def _allocate(
        self, merchant: Merchant, inbound: Inbound, draft: OrderDraft, reason: str, option: Any
    ) -> IntakeResult:
        address = draft.address
        if self._allocator is None or not address.has_coordinates:
            # Held for its address (or no allocation here): the merchant's first depot.
            return self._create_held(
                merchant, inbound, draft, reason or NO_COORDINATES, option=option
            )
        short = OUT_OF_STOCK
        for _ in range(ALLOCATION_ATTEMPTS):
            plan = self._allocator.plan(merchant, draft)
            if plan.reason is not None:
                return self._create_held(merchant, inbound, draft, plan.reason, allocated=True)
            try:
                return self._create_planned(merchant, inbound, draft, plan, option)
            except StockShort:
                short = OUT_OF_STOCK
            except CapacityFull:
                short = OVER_CAPACITY
            logger.info("allocation lost a race; allocating again", extra={"reason": short})
        return self._create_held(merchant, inbound, draft, short, allocated=True)

    def _create_held(
        self,
        merchant: Merchant,
        inbound: Inbound,
        draft: OrderDraft,
        reason: str,
        *,
        allocated: bool = False,
        option: Any = None,
    ) -> IntakeResult:
        """The order at the merchant's first depot: ready if it can be routed to, else held
        with the reason; `allocated`: held because no depot can serve it (the merchant is told
        at once, and nothing is reserved or dispatched)."""
        order, events = receive(
            draft,
            merchant_id=merchant.merchant_id,
            depot_id=merchant.depot_id,
            source=inbound.source,
            source_updated_at=inbound.source_updated_at,
            at=self._clock(),
            attention_reason=reason,
            held=allocated,
        )
        if reason == OPTION_EXPIRED and order.status is OrderStatus.READY:
            order, event = triage_as(order, OPTION_EXPIRED)
            events.append(event)
        messages: list[Message] = ["order.confirmed"]
        if allocated or order.attention_reason == OPTION_EXPIRED:
            # The merchant is told at once (its webhooks): the customer must choose again.
            messages.append(("order.needs_attention", {"reason": reason}))
        tx = Transaction()
        if option is not None and self._options is not None:
            self._options.redeem(tx, option, order.order_id)
        self._orders.create(order, events, messages=messages, receipt=inbound.event_id, tx=tx)
        return IntakeResult(Outcome.CREATED, order)

    def _create_planned(
        self,
        merchant: Merchant,
        inbound: Inbound,
        draft: OrderDraft,
        plan: Plan,
        option: Any = None,
    ) -> IntakeResult:
        """The order (or its shipments, each its own order) at the planned depots, with the
        stock and capacity they take held in the same transaction (StockShort, CapacityFull
        when a concurrent order took them first: nothing is written)."""
        assert self._allocator is not None
        at = self._clock()
        ids = [new_order_id() for _ in plan.shipments]
        built: list[tuple[Order, list[TimelineEvent]]] = []
        for index, shipment in enumerate(plan.shipments):
            order, events = receive(
                replace(
                    draft,
                    parcels=shipment_parcels(draft, shipment, len(ids)),
                    lines=shipment.lines,
                ),
                merchant_id=merchant.merchant_id,
                depot_id=shipment.depot_id,
                source=inbound.source,
                source_updated_at=inbound.source_updated_at,
                at=at,
                order_id=ids[index],
            )
            built.append((_holding(order, shipment, ids, index), events))
        tx = Transaction()
        self._allocator.hold(tx, merchant.merchant_id, plan.shipments)
        (lead, lead_events), *others = built
        if option is not None and self._options is not None:
            self._options.redeem(tx, option, lead.order_id)  # the option books the lead
        self._orders.create(
            lead,
            lead_events,
            messages=["order.confirmed"],
            receipt=inbound.event_id,
            tx=tx,
            shipments=others,
        )
        return IntakeResult(Outcome.CREATED, lead)

    def _update(self, existing: Order, inbound: Inbound) -> IntakeResult:
        assert inbound.draft is not None
        if _is_older(inbound.source_updated_at, existing.source_updated_at):
            return self._unchanged(existing, inbound, Outcome.STALE, "a newer version is stored")
        if existing.status not in EDITABLE:
            return self._unchanged(
                existing,
                inbound,
                Outcome.IGNORED,
                f"order is {existing.status}; too late to change",
            )
        at = self._clock()
        address, reason = self._locate(inbound.draft.address)
        draft = replace(inbound.draft, address=address)
        order = revise(existing, draft, source_updated_at=inbound.source_updated_at, at=at)
        events = [TimelineEvent(at=at, status=order.status, type="order.updated")]
        if needs_triage(order):
            order, event = triage(order, at=at, reason=reason or NO_COORDINATES)
            events.append(event)
        self._orders.save(
            order,
            events,
            expected_version=existing.version,
            receipt=inbound.event_id,
            new_labels=_gained(existing, order),
        )
        return IntakeResult(Outcome.UPDATED, order)

    def _cancel(self, existing: Order | None, inbound: Inbound) -> IntakeResult:
        if existing is None:
            return IntakeResult(Outcome.IGNORED, None, "no such order to cancel")
        if existing.status is not OrderStatus.CANCELLED and not can_move(
            existing.status, OrderStatus.CANCELLED
        ):
            return self._unchanged(
                existing,
                inbound,
                Outcome.IGNORED,
                f"order is {existing.status}; too late to cancel",
            )
        order, changed = self.cancel_order(existing, receipt=inbound.event_id)
        if not changed:
            return IntakeResult(Outcome.DUPLICATE, existing)
        # A split order's other shipments go with it (each gives back what it holds).
        for sibling_id in existing.shipments:
            sibling = self._orders.get(sibling_id) if sibling_id != existing.order_id else None
            if sibling is not None and can_move(sibling.status, OrderStatus.CANCELLED):
                self.cancel_order(sibling)
        return IntakeResult(Outcome.CANCELLED, order)

    def cancel_order(self, existing: Order, *, receipt: str | None = None) -> tuple[Order, bool]:
        """The one way an order is cancelled, whoever asks (its storefront, the merchant's API):
        the order and its timeline, its stock and its day's capacity given back, in one
        version-conditional transaction with the `order.cancelled` outbox message (the
        customer's notice and the merchant's webhooks follow from it; a repeated cancel loses
        the race and gives back nothing twice), then a planned order's stop leaves its route.
        Returns the order and whether this call cancelled it: a cancelled order is answered as
        it is, and nobody is told again. IllegalTransition when it is too late (out for delivery
        or after); ConcurrentUpdate if it changed meanwhile."""
        if existing.status is OrderStatus.CANCELLED:
            return existing, False
        if not can_move(existing.status, OrderStatus.CANCELLED):
            raise IllegalTransition(f"order is {existing.status}: too late to cancel")
        at = self._clock()
        tx = Transaction()
        holding = self._allocator.release(tx, existing) if self._allocator else existing
        order = holding.moved_to(OrderStatus.CANCELLED, at=at)
        event = TimelineEvent(at=at, status=order.status, type="order.cancelled")
        facts = self._facts
        self._orders.save(
            order,
            [event],
            expected_version=existing.version,
            messages=["order.cancelled"],
            receipt=receipt,
            tx=tx,
            then=(lambda t: facts.cancelled(t, existing, at)) if facts else None,
        )
        if existing.status is OrderStatus.PLANNED and self._routes is not None:
            # Its stop leaves the route and the later stops' ETAs move up.
            self._routes.remove_from_route(existing)
        return order, True

    def cancel(self, merchant: Merchant, order_id: str) -> Order:
        """The merchant cancels its own order (another merchant's is not found); re-read and
        tried again when a concurrent write (a dispatch claim, a driver's event) wins."""
        for _ in range(ATTEMPTS):
            existing, _events = self.get(merchant, order_id)
            try:
                return self.cancel_order(existing)[0]
            except ConcurrentUpdate:
                logger.info("lost a race; reading again", extra={"order_id": order_id})
        raise ConcurrentUpdate(f"order {order_id} is being changed; retry later")

    def _unchanged(
        self, existing: Order, inbound: Inbound, outcome: Outcome, reason: str
    ) -> IntakeResult:
        if inbound.event_id:
            self._orders.record_receipt(existing, inbound.event_id)
        return IntakeResult(outcome, existing, reason)

    def amend(self, merchant: Merchant, order_id: str, address: Address) -> Order:
        """The merchant fixes where an order goes; a held order then continues."""
        existing, _ = self.get(merchant, order_id)
        if existing.status not in EDITABLE:
            raise IllegalTransition(f"order is {existing.status}: its address can no longer change")
        at = self._clock()
        address, reason = self._locate(address)
        order = replace(existing, address=address, updated_at=at, version=existing.version + 1)
        events = [TimelineEvent(at=at, status=order.status, type="order.amended")]
        if needs_triage(order):
            order, event = triage(order, at=at, reason=reason or NO_COORDINATES)
            events.append(event)
        self._orders.save(order, events, expected_version=existing.version)
        return order

    def get(self, merchant: Merchant, order_id: str) -> tuple[Order, list[TimelineEvent]]:
        """The merchant's own order with its timeline; another merchant's is not found."""
        found = self._orders.get_with_timeline(order_id)
        if found is None or found[0].merchant_id != merchant.merchant_id:
            raise OrderNotFound(f"no order {order_id}")
        return found

    def page(
        self, merchant: Merchant, query: OrderQuery, *, limit: int, start: Key | None
    ) -> Page[Order]:
        """A page of the merchant's own orders, newest first, narrowed as `query` asks."""
        if query.external_id is not None and _unstorable_id(query.external_id):
            return Page([], None)  # no order can carry it, and the index cannot be asked
        return self._orders.page_for_merchant(merchant.merchant_id, query, limit=limit, start=start)

    def find(self, merchant: Merchant, external_id: str | None) -> list[Order]:
        if external_id is not None and _unstorable_id(external_id):
            return []  # no order can carry it, and the index cannot be asked about it
        return self._orders.list_for_merchant(merchant.merchant_id, external_id)

    def shipments(self, order: Order) -> list[Order]:
        """Every shipment of a split order, in order (the order itself included)."""
        found = [self._orders.get(order_id) for order_id in order.shipments]
        return [shipment for shipment in found if shipment is not None]

    def by_tracking_code(self, code: str) -> tuple[Order, list[TimelineEvent]]:
        order_id = self._orders.order_id_for_tracking_code(code)
        found = self._orders.get_with_timeline(order_id) if order_id else None
        if found is None:
            raise OrderNotFound("no parcel with this tracking code")
        return found


def triage_as(order: Order, reason: str) -> tuple[Order, TimelineEvent]:
    moved = order.moved_to(OrderStatus.NEEDS_ATTENTION, at=order.updated_at, reason=reason)
    return moved, TimelineEvent(
        at=order.updated_at, status=moved.status, type="order.needs_attention", note=reason
    )


def _gained(before: Order, after: Order) -> list[str]:
    """The parcel labels `after` has that `before` had not (a parcel added, or labelled now)."""
    had = set(labels_of(before))
    return [label for label in labels_of(after) if label not in had]


def _holding(order: Order, shipment: Shipment, ids: list[str], index: int) -> Order:
    """A new order as its shipment of the plan: what it holds, and its siblings if split."""
    return replace(
        order,
        lines=shipment.lines,
        reserved=shipment.reserve,
        promised_day=shipment.day.isoformat(),
        capacity_load=shipment.load,
        shipments=tuple(ids) if len(ids) > 1 else (),
        shipment_of=ids[0] if index else None,
    )


def _unstorable_id(external_id: str) -> bool:
    try:
        return utf8_bytes(external_id) > MAX_EXTERNAL_ID_BYTES
    except ValueError:
        return True


def _is_older(incoming: str | None, stored: str | None) -> bool:
    """True when the storefront's copy predates (or equals) the one already applied. A stored
    time that cannot be read (written before intake validated times) loses to any new one."""
    if incoming is None or stored is None:
        return False
    new, previous = _instant(incoming), _instant(stored)
    return new is not None and previous is not None and new <= previous


def _instant(text: str) -> datetime | None:
    try:
        moment = parse_iso(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
