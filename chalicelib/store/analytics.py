"""Analytics facts and their daily aggregates in the main table. A fact is put only if absent
and its contribution ADDed in the same transaction, so a retried event either wrote both or
neither: the aggregates stay exact however often an event is sent."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from chalicelib.analytics.facts import COUNTERS, Contribution, Fact, contribution
from chalicelib.analytics.metrics import Cell
from chalicelib.domain.errors import DuplicateEvent
from chalicelib.store.models.analytics import AggregateCellItem, FactItem, HistogramBucketItem
from chalicelib.store.models.base import MainItem
from chalicelib.store.reads import get_one
from chalicelib.store.transaction import Transaction

DAY_INDEX_SHARDS = 4  # gsi2 partitions a day's cells of every depot are spread over


def fact_key(subject: str, identity: str) -> tuple[str, str]:
    return f"FACT#{subject}", identity


def _day_pk(depot_id: str, day: str) -> str:
    return f"AGG#{depot_id}#{day}"


def _day_index(depot_id: str, day: str) -> str:
    shard = hashlib.sha256(depot_id.encode()).digest()[0] % DAY_INDEX_SHARDS
    return f"AGGDAY#{day}#{shard}"


def fact_item(fact: Fact) -> FactItem:
    return FactItem(
        *fact_key(fact.subject, fact.identity),
        kind=fact.kind,
        subject=fact.subject,
        identity=fact.identity,
        day=fact.day,
        depot_id=fact.depot_id,
        merchant_id=fact.merchant_id,
        vehicle_id=fact.vehicle_id,
        at=fact.at,
        values={k: v for k, v in fact.values.items() if v is not None},
        gsi1pk=f"FACTS#{fact.depot_id}#{fact.day}",
        gsi1sk=f"{fact.subject}#{fact.identity}",
    )


def fact_from_item(item: FactItem) -> Fact:
    values = item.values.as_dict() if item.values else {}
    return Fact(
        kind=item.kind,
        subject=item.subject,
        identity=item.identity,
        day=item.day,
        depot_id=item.depot_id,
        merchant_id=item.merchant_id,
        vehicle_id=item.vehicle_id,
        at=item.at,
        values={k: float(v) if _decimal(v) else v for k, v in values.items()},
    )


def _decimal(value: Any) -> bool:
    return type(value).__name__ == "Decimal"


class FactStore:
    """Facts and aggregates: written with a state change (`stage`), read by the summary."""

    def stage(self, tx: Transaction, facts: Sequence[Fact]) -> None:
        """Add to `tx` each fact (put if absent: DuplicateEvent when it exists) and what it
        adds to its day's cell and histograms, one update an item (facts of one cell merged:
        a transaction may touch an item once)."""
        cells: dict[tuple[str, str, str, str, str], Counter[str]] = {}
        buckets: Counter[tuple[str, str, str, str, str, int]] = Counter()
        for fact in facts:
            tx.put(
                fact_item(fact),
                condition=MainItem.pk.does_not_exist(),
                on_fail=DuplicateEvent(f"fact {fact.kind} of {fact.subject} already recorded"),
            )
            added: Contribution = contribution(fact)
            cell = (fact.depot_id, fact.day, fact.merchant_id, fact.vehicle_id, fact.shard)
            cells.setdefault(cell, Counter()).update(added.counters)
            for name, minutes in added.buckets.items():
                buckets[(*cell[:4], name, minutes)] += 1
        for (depot_id, day, merchant_id, vehicle_id, shard), counters in cells.items():
            if not counters:
                continue
            item = AggregateCellItem(
                _day_pk(depot_id, day), f"CELL#{merchant_id}#{vehicle_id}#{shard}"
            )
            actions = [
                # An update, unlike a put, writes no discriminator of itself.
                AggregateCellItem.entity.set(AggregateCellItem),
                AggregateCellItem.day.set(day),
                AggregateCellItem.depot_id.set(depot_id),
                AggregateCellItem.merchant_id.set(merchant_id),
                AggregateCellItem.vehicle_id.set(vehicle_id),
                AggregateCellItem.gsi2pk.set(_day_index(depot_id, day)),
                AggregateCellItem.gsi2sk.set(f"{depot_id}#{item.sk}"),
                *(getattr(AggregateCellItem, name).add(n) for name, n in sorted(counters.items())),
            ]
            tx.update(item, actions)
        for (depot_id, day, merchant_id, vehicle_id, name, minutes), n in buckets.items():
            sk = f"HIST#{merchant_id}#{vehicle_id}#{name}#{minutes:06d}"
            tx.update(
                HistogramBucketItem(_day_pk(depot_id, day), sk),
                [
                    HistogramBucketItem.entity.set(HistogramBucketItem),
                    HistogramBucketItem.day.set(day),
                    HistogramBucketItem.depot_id.set(depot_id),
                    HistogramBucketItem.merchant_id.set(merchant_id),
                    HistogramBucketItem.vehicle_id.set(vehicle_id),
                    HistogramBucketItem.histogram.set(name),
                    HistogramBucketItem.minutes.set(minutes),
                    HistogramBucketItem.gsi2pk.set(_day_index(depot_id, day)),
                    HistogramBucketItem.gsi2sk.set(f"{depot_id}#{sk}"),
                    HistogramBucketItem.tally.add(n),
                ],
            )

    def record(self, facts: Sequence[Fact]) -> None:
        """Facts of a change that has no transaction of its own (a route's departure)."""
        tx = Transaction()
        self.stage(tx, facts)
        tx.commit()

    def fact(self, subject: str, identity: str) -> Fact | None:
        item = get_one(FactItem, *fact_key(subject, identity))
        return fact_from_item(item) if item else None

    def cells(
        self, days: Iterable[str], *, depot_id: str | None, merchant_id: str | None
    ) -> Iterator[Cell]:
        """The period's cells (one per depot, day, merchant and vehicle; shards summed), of
        one depot or every depot, of one merchant or all."""
        found: dict[tuple[str, str, str, str], Cell] = {}
        for item in self._items(days, depot_id, merchant_id):
            key = (item.day, item.depot_id, item.merchant_id, item.vehicle_id)
            cell = found.setdefault(key, Cell(*key))
            if isinstance(item, AggregateCellItem):
                for name in COUNTERS:
                    value = getattr(item, name, None)
                    if value:
                        cell.counters[name] = cell.counters.get(name, 0.0) + float(value)
            elif isinstance(item, HistogramBucketItem):
                histogram = cell.histograms.setdefault(item.histogram, Counter())
                histogram[int(item.minutes)] += int(item.tally or 0)
        return iter(found.values())

    def _items(
        self, days: Iterable[str], depot_id: str | None, merchant_id: str | None
    ) -> Iterator[AggregateCellItem | HistogramBucketItem]:
        prefixes = (
            (f"CELL#{merchant_id}#", f"HIST#{merchant_id}#") if merchant_id else ("CELL#", "HIST#")
        )
        for day in days:
            for prefix in prefixes:
                if depot_id is not None:
                    for found in MainItem.query(
                        _day_pk(depot_id, day), MainItem.sk.startswith(prefix)
                    ):
                        if isinstance(found, AggregateCellItem | HistogramBucketItem):
                            yield found
                    continue
                for shard in range(DAY_INDEX_SHARDS):
                    index = (
                        AggregateCellItem.by_day
                        if prefix.startswith("CELL")
                        else HistogramBucketItem.by_day
                    )
                    for item in index.query(f"AGGDAY#{day}#{shard}"):
                        if item.sk.startswith(prefix):
                            yield item

    def day_totals(self, depot_id: str, day: str, names: Iterable[str]) -> dict[str, float]:
        """A depot's day, counters `names` summed over its cells (every merchant, vehicle
        and shard; no histograms): one query."""
        totals = dict.fromkeys(names, 0.0)
        for item in MainItem.query(_day_pk(depot_id, day), MainItem.sk.startswith("CELL#")):
            if isinstance(item, AggregateCellItem):
                for name in totals:
                    totals[name] += float(getattr(item, name, None) or 0)
        return totals

    def facts_of_day(self, depot_id: str, day: str) -> Iterator[Fact]:
        for item in FactItem.by_depot_day.query(f"FACTS#{depot_id}#{day}"):
            yield fact_from_item(item)
