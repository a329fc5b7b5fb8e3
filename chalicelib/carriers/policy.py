"""Which carrier gets an overflow order: of the quotes still valid, those that deliver inside
the promised window and cost at most the depot's maximum for that carrier; the cheapest wins
(then the earliest, then by name, so the choice is stable)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from chalicelib.carriers.ports import Money, Quote
from chalicelib.domain.times import parse_iso


def acceptable(quote: Quote, deliver_by: datetime, max_price: Money, now: datetime) -> bool:
    return (
        quote.fee.currency == max_price.currency
        and quote.fee.amount <= max_price.amount
        and parse_iso(quote.dropoff_eta) <= deliver_by
        and parse_iso(quote.expires_at) > now
    )


def choose(
    quotes: Sequence[Quote],
    deliver_by: datetime,
    max_prices: Mapping[str, Money],
    now: datetime,
) -> Quote | None:
    """The quote to accept, or None (the order goes back to our pool as carrier_declined).
    A carrier without a maximum price is never chosen."""
    fitting = [
        q
        for q in quotes
        if q.carrier in max_prices and acceptable(q, deliver_by, max_prices[q.carrier], now)
    ]
    if not fitting:
        return None
    return min(fitting, key=lambda q: (q.fee.amount, parse_iso(q.dropoff_eta), q.carrier))
