"""Depots' stock per SKU and day counts in the main table: levels set by the operator or by
Shopify, and the reservations and counts an order's creating (or cancelling) transaction holds."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import quote

from chalicelib.allocation.rules import Shipment
from chalicelib.domain.errors import CapacityFull, ConcurrentUpdate, StockShort
from chalicelib.domain.order import Order
from chalicelib.store.models.base import MainItem
from chalicelib.store.models.stock import DayCountItem, ShopifyInventoryMapItem, StockItem
from chalicelib.store.reads import get_one
from chalicelib.store.transaction import Transaction, failing_as

ATTEMPTS = 4  # re-reads of a level changed by a reservation while it was being set
DAY_COUNT_KEPT = timedelta(days=60)
_NEW = MainItem.pk.does_not_exist()


@dataclass(frozen=True)
class StockLevel:
    merchant_id: str
    sku: str
    quantity: int  # free to allocate
    reserved: int  # held by open orders


def _depot_pk(depot_id: str) -> str:
    return f"DEPOT#{depot_id}"


def _stock_sk(merchant_id: str, sku: str) -> str:
    # A SKU is one merchant's text: two merchants at one depot never share a level. Quoted, so
    # no character of it shapes the key.
    return f"{_merchant_prefix(merchant_id)}{quote(sku, safe='')}"


def _merchant_prefix(merchant_id: str) -> str:
    return f"STOCK#{merchant_id}#"


def _day_sk(day: date | str) -> str:
    return f"CAPACITY#{day}"


def _level(item: StockItem) -> StockLevel:
    return StockLevel(item.merchant_id, item.sku, int(item.quantity or 0), int(item.reserved or 0))


class StockRepository:
    def put_levels(
        self, depot_id: str, merchant_id: str, shelf: Sequence[tuple[str, int]], at: str
    ) -> list[StockLevel]:
        """What is on the shelf of each given SKU (at most 100, one transaction): its free
        quantity becomes the shelf's less what open orders hold (never below 0). The same body
        again changes nothing; a reservation meanwhile makes it read and write again."""
        for _ in range(ATTEMPTS):
            skus = [s for s, _ in shelf]
            current = {level.sku: level for level in self._read(depot_id, merchant_id, skus)}
            tx = Transaction()
            for sku, on_shelf in shelf:
                held = current[sku].reserved if sku in current else 0
                item = StockItem(
                    _depot_pk(depot_id),
                    _stock_sk(merchant_id, sku),
                    merchant_id=merchant_id,
                    sku=sku,
                    quantity=max(0, on_shelf - held),
                    reserved=held,
                    updated_at=at,
                )
                condition = StockItem.reserved == held if sku in current else _NEW
                tx.put(item, condition=condition, on_fail=ConcurrentUpdate(f"stock {sku} moved"))
            try:
                tx.commit()
            except ConcurrentUpdate:
                continue
            return self._read(depot_id, merchant_id, skus)
        raise ConcurrentUpdate("the stock is changing; retry later")

    def levels(self, depot_id: str, merchant_id: str | None = None) -> list[StockLevel]:
        """The depot's levels, of one merchant or of every merchant it holds stock for."""
        prefix = _merchant_prefix(merchant_id) if merchant_id else "STOCK#"
        items = StockItem.query(
            _depot_pk(depot_id), StockItem.sk.startswith(prefix), consistent_read=True
        )
        return [_level(item) for item in items if isinstance(item, StockItem)]

    def _read(self, depot_id: str, merchant_id: str, skus: Iterable[str]) -> list[StockLevel]:
        found = StockItem.batch_get(
            [(_depot_pk(depot_id), _stock_sk(merchant_id, sku)) for sku in set(skus)],
            consistent_read=True,
        )
        levels = {item.sku: _level(item) for item in found if isinstance(item, StockItem)}
        return sorted(levels.values(), key=lambda level: level.sku)

    def free(self, merchant_id: str, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """The merchant's free quantity by (depot, sku) for the keys asked (absent: 0)."""
        wanted = {(_depot_pk(d), _stock_sk(merchant_id, s)): (d, s) for d, s in keys}
        if not wanted:
            return {}
        found: dict[tuple[str, str], int] = {}
        for item in StockItem.batch_get(list(wanted), consistent_read=True):
            if isinstance(item, StockItem):
                found[wanted[(item.pk, item.sk)]] = int(item.quantity or 0)
        return found

    def used(self, keys: Iterable[tuple[str, date]]) -> dict[tuple[str, date], int]:
        """Capacity used by (depot, local day) for the keys asked (absent: 0)."""
        wanted = {(_depot_pk(d), _day_sk(day)): (d, day) for d, day in keys}
        if not wanted:
            return {}
        found: dict[tuple[str, date], int] = {}
        for item in DayCountItem.batch_get(list(wanted), consistent_read=True):
            if isinstance(item, DayCountItem):
                found[wanted[(item.pk, item.sk)]] = int(item.used or 0)
        return found

    def hold(self, tx: Transaction, merchant_id: str, shipment: Shipment) -> None:
        """The shipment's units taken from the merchant's free stock at its depot and its load
        counted in its day, in `tx`: each a conditional update, failing as StockShort or
        CapacityFull."""
        for line in shipment.reserve:
            tx.update(
                StockItem(_depot_pk(shipment.depot_id), _stock_sk(merchant_id, line.sku)),
                [StockItem.quantity.add(-line.quantity), StockItem.reserved.add(line.quantity)],
                condition=StockItem.quantity >= line.quantity,
                on_fail=StockShort(f"depot {shipment.depot_id} is short of {line.sku}"),
            )
        condition = None
        if shipment.capacity is not None:
            room = shipment.capacity - shipment.load
            condition = DayCountItem.used.does_not_exist() | (DayCountItem.used <= room)
        tx.update(
            DayCountItem(_depot_pk(shipment.depot_id), _day_sk(shipment.day)),
            [
                DayCountItem.used.add(shipment.load),
                DayCountItem.expires_at.set(_expiry(shipment.day)),
                # An update may create the item: it says what it is, as a put would.
                DayCountItem.entity.set(DayCountItem),
            ],
            condition=condition,
            on_fail=CapacityFull(f"depot {shipment.depot_id} is full on {shipment.day}"),
        )

    def release(self, tx: Transaction, order: Order, *, day_too: bool) -> None:
        """What `order` holds given back in `tx` (which also moves the order, so it happens
        once): its units free again, and (`day_too`) its place in its day's capacity."""
        if order.reserved:
            for line in order.reserved:
                tx.update(
                    StockItem(_depot_pk(order.depot_id), _stock_sk(order.merchant_id, line.sku)),
                    [
                        StockItem.quantity.add(line.quantity),
                        StockItem.reserved.add(-line.quantity),
                    ],
                )
        if day_too and order.promised_day and order.capacity_load and _ahead(order.promised_day):
            load = order.capacity_load
            tx.update(
                DayCountItem(_depot_pk(order.depot_id), _day_sk(order.promised_day)),
                [DayCountItem.used.add(-load)],
                condition=DayCountItem.used >= load,
            )

    def consume(self, tx: Transaction, order: Order) -> None:
        """The order's units left the depot for good (delivered, in a locker): no longer held,
        and no longer on the shelf either, so the free quantity stays as it is."""
        for line in order.reserved:
            tx.update(
                StockItem(_depot_pk(order.depot_id), _stock_sk(order.merchant_id, line.sku)),
                [StockItem.reserved.add(-line.quantity)],
            )

    def apply_shopify_level(
        self, depot_id: str, merchant_id: str, sku: str, available: int, updated_at: str, at: str
    ) -> bool:
        """Shopify's `available` (already net of its own open orders) as the free quantity,
        unless a newer level was applied; False when it was older (nothing changes)."""
        item = StockItem(_depot_pk(depot_id), _stock_sk(merchant_id, sku))
        newer = StockItem.shopify_updated_at.does_not_exist() | (
            StockItem.shopify_updated_at < updated_at
        )
        try:
            with failing_as(ConcurrentUpdate("older")):
                item.update(
                    [
                        StockItem.entity.set(StockItem),
                        StockItem.merchant_id.set(merchant_id),
                        StockItem.sku.set(sku),
                        StockItem.quantity.set(max(0, available)),
                        StockItem.reserved.set(StockItem.reserved | 0),
                        StockItem.updated_at.set(at),
                        StockItem.shopify_updated_at.set(updated_at),
                    ],
                    condition=newer,
                )
        except ConcurrentUpdate:
            return False
        return True

    def inventory_map(self, merchant_id: str) -> tuple[dict[str, str], dict[str, str]]:
        """The merchant's Shopify location -> depot and inventory item -> SKU maps."""
        item = get_one(ShopifyInventoryMapItem, f"MERCHANT#{merchant_id}", "SHOPIFY_INVENTORY")
        if item is None:
            return {}, {}
        return _strings(item.locations), _strings(item.items)

    def put_inventory_map(
        self, merchant_id: str, locations: dict[str, str], items: dict[str, str], at: str
    ) -> None:
        ShopifyInventoryMapItem(
            f"MERCHANT#{merchant_id}",
            "SHOPIFY_INVENTORY",
            locations=locations,
            items=items,
            updated_at=at,
        ).save()


def _strings(attribute: Any) -> dict[str, str]:
    data = attribute.as_dict() if hasattr(attribute, "as_dict") else dict(attribute or {})
    return {str(k): str(v) for k, v in data.items()}


def _ahead(day: str) -> bool:
    """A day whose capacity is still to be used (a day behind, the count may have expired, and
    a place on it is of no use to anyone). A day of slack for the depot's zone."""
    return date.fromisoformat(day) >= datetime.now(UTC).date() - timedelta(days=1)


def _expiry(day: date) -> datetime:
    return datetime.combine(day, time(0), UTC) + DAY_COUNT_KEPT
