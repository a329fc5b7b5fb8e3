"""Analytics facts (one item per event, keyed by its identity) and the daily aggregates they
ADD to: counter cells and whole-minute histogram buckets, one partition per depot-local day."""

from __future__ import annotations

from pynamodb.attributes import MapAttribute, NumberAttribute, UnicodeAttribute

from chalicelib.analytics.facts import COUNTERS
from chalicelib.store.models.base import Gsi1Index, Gsi2Index, MainItem


class FactItem(MainItem, discriminator="fact"):
    """pk FACT#<order or route id>, sk <identity> (DELIVERY, FAILED#<n>, RETURN, ...): put only
    if absent, so a retried event finds its fact there. gsi1 FACTS#<depot>#<day> lists a
    depot's day (the CSV; the export's partition)."""

    kind = UnicodeAttribute()
    subject = UnicodeAttribute()
    identity = UnicodeAttribute()
    day = UnicodeAttribute()
    depot_id = UnicodeAttribute()
    merchant_id = UnicodeAttribute()
    vehicle_id = UnicodeAttribute()
    at = UnicodeAttribute()
    values = MapAttribute[str, object](default=dict)
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()

    by_depot_day = Gsi1Index["FactItem"]()


class AggregateCellItem(MainItem, discriminator="agg_cell"):
    """pk AGG#<depot>#<day>, sk CELL#<merchant>#<vehicle>#<shard>: the counters of the facts
    of one merchant and vehicle on a depot's day (each ADDed, never SET). gsi2
    AGGDAY#<day>#<n> reads every depot's day (n spreads the index's writes)."""

    day = UnicodeAttribute()
    depot_id = UnicodeAttribute()
    merchant_id = UnicodeAttribute()
    vehicle_id = UnicodeAttribute()
    gsi2pk = UnicodeAttribute()
    gsi2sk = UnicodeAttribute()
    # One number attribute per counter (facts.COUNTERS): ADD creates it at its first use.
    for _counter in COUNTERS:
        vars()[_counter] = NumberAttribute(null=True)
    del _counter

    by_day = Gsi2Index["AggregateCellItem"]()


class HistogramBucketItem(MainItem, discriminator="agg_bucket"):
    """pk AGG#<depot>#<day>, sk HIST#<merchant>#<vehicle>#<histogram>#<minutes>: how many
    durations of that many whole minutes the cell saw (exact medians and p90 to the minute)."""

    day = UnicodeAttribute()
    depot_id = UnicodeAttribute()
    merchant_id = UnicodeAttribute()
    vehicle_id = UnicodeAttribute()
    histogram = UnicodeAttribute()
    minutes = NumberAttribute()
    tally = NumberAttribute(null=True)
    gsi2pk = UnicodeAttribute()
    gsi2sk = UnicodeAttribute()

    by_day = Gsi2Index["HistogramBucketItem"]()


class ForecastItem(MainItem, discriminator="forecast"):
    """pk FORECAST#<depot>, sk LATEST: the depot's newest forecast as the forecasting function
    answered it (`answer`, its JSON: a few hundred bytes), replaced by each run."""

    depot_id = UnicodeAttribute()
    made_at = UnicodeAttribute()
    history_from = UnicodeAttribute()
    history_to = UnicodeAttribute()
    answer = UnicodeAttribute()
