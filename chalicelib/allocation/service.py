"""Allocation at intake: which of a merchant's depots sends an order (or which few, split), read
from the depots' settings, stock and day counts; and the writes that hold (or give back) what
an order takes, added to the order's own transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Protocol

from chalicelib.allocation.rules import (
    Location,
    Plan,
    Shipment,
    choose,
    merge_lines,
    reachable,
)
from chalicelib.domain.order import DeliveryType, Order, OrderDraft, Parcel
from chalicelib.domain.tenancy import Depot, Merchant
from chalicelib.domain.times import parse_iso
from chalicelib.store.transaction import Transaction


class Depots(Protocol):
    def get_depots(self, depot_ids: Sequence[str]) -> list[Depot]: ...


class Stock(Protocol):
    def free(
        self, merchant_id: str, keys: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], int]: ...

    def used(self, keys: Iterable[tuple[str, date]]) -> dict[tuple[str, date], int]: ...

    def hold(self, tx: Transaction, merchant_id: str, shipment: Shipment) -> None: ...

    def release(self, tx: Transaction, order: Order, *, day_too: bool) -> None: ...


def _now() -> datetime:
    return datetime.now(UTC)


class Allocator:
    def __init__(self, depots: Depots, stock: Stock, now: Callable[[], datetime] = _now) -> None:
        self._depots = depots
        self._stock = stock
        self._now = now

    def plan(self, merchant: Merchant, draft: OrderDraft) -> Plan:
        """Where the order goes out from. Lines decide among all the merchant's depots; an
        order without lines goes from the first if it serves the address (as before there
        were lines); a locker order from the first (its lockers are that depot's), unsplit."""
        found = {d.depot_id: d for d in self._depots.get_depots(merchant.serving_depots)}
        locations = [Location.of(found[i]) for i in merchant.serving_depots if i in found]
        lines = merge_lines(draft.lines)
        locker = draft.delivery.type is DeliveryType.LOCKER
        if not lines or locker:
            locations = locations[:1]
        if not locations:
            # The merchant's depot is gone: the order is kept as it always was, unallocated.
            return Plan((Shipment(merchant.depot_id, (), self._now().date(), 0, None),))
        window = draft.delivery.window
        start = parse_iso(window.start) if window else None
        reaches, reason = reachable(
            locations,
            draft.address.lat,
            draft.address.lng,
            self._now(),
            start,
            check_area=not locker,
        )
        if reason is not None:
            return Plan(reason=reason)
        free = self._stock.free(
            merchant.merchant_id,
            [(reach.location.depot_id, line.sku) for reach in reaches for line in lines],
        )
        used = self._stock.used(
            (reach.location.depot_id, reach.day)
            for reach in reaches
            if reach.location.capacity is not None
        )
        # A SKU none of these depots keeps a level of is not tracked (as Shopify's "track
        # quantity" off): it limits nothing and nothing is reserved for it.
        tracked = {sku for _, sku in free}
        counted = tuple(line for line in lines if line.sku in tracked)
        plan = choose(reaches, counted, len(draft.parcels), free, used, split=not locker)
        untracked = tuple(line for line in lines if line.sku not in tracked)
        if not plan.shipments or not untracked:
            return plan
        first, *rest = plan.shipments
        return Plan((replace(first, lines=first.lines + untracked), *rest))

    def hold(self, tx: Transaction, merchant_id: str, shipments: Sequence[Shipment]) -> None:
        for shipment in shipments:
            self._stock.hold(tx, merchant_id, shipment)

    def release(self, tx: Transaction, order: Order) -> Order:
        """What a cancelled order held, given back in `tx` (the order's own save: once); the
        order as it is then, holding nothing."""
        self._stock.release(tx, order, day_too=True)
        return replace(order, reserved=(), capacity_load=0)


def shipment_parcels(draft: OrderDraft, shipment: Shipment, shipments: int) -> tuple[Parcel, ...]:
    """What one shipment carries: all the order's parcels when it is the only one; else one
    parcel with its share of the order's weight by units (the storefront packed the order as
    one; each depot now packs its own part)."""
    if shipments == 1:
        return draft.parcels
    total_units = sum(line.quantity for line in merge_lines(draft.lines)) or 1
    units = sum(line.quantity for line in shipment.lines)
    weight = sum(parcel.weight_kg for parcel in draft.parcels)
    return (Parcel(weight_kg=max(round(weight * units / total_units, 3), 0.001)),)
