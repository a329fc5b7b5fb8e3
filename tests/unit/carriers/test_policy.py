"""The overflow policy takes the cheapest valid quote inside the window under the depot's
maximum for that carrier, and nothing when none fits (the order goes back to the pool)."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.carriers.policy import choose
from chalicelib.carriers.ports import Money, Quote

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
BY = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
MAX = {"uber_direct": Money(1500, "GBP"), "doordash_drive": Money(1500, "GBP")}


def quote(
    carrier: str, amount: int, eta: str = "17:00", *, currency: str = "GBP", expires: str = "15:15"
) -> Quote:
    return Quote(
        carrier,
        f"q-{carrier}-{amount}",
        Money(amount, currency),
        f"2026-12-01T{eta}:00Z",
        f"2026-12-01T{expires}:00Z",
    )


def test_the_cheapest_fitting_quote_wins() -> None:
    quotes = [quote("uber_direct", 900), quote("doordash_drive", 700)]
    assert choose(quotes, BY, MAX, NOW) == quotes[1]


def test_a_cheaper_quote_late_for_the_window_loses() -> None:
    quotes = [quote("uber_direct", 900), quote("doordash_drive", 700, eta="18:30")]
    assert choose(quotes, BY, MAX, NOW) == quotes[0]


def test_a_quote_over_the_maximum_or_in_another_currency_loses() -> None:
    quotes = [quote("uber_direct", 1600), quote("doordash_drive", 800, currency="USD")]
    assert choose(quotes, BY, MAX, NOW) is None


def test_an_expired_quote_is_not_accepted() -> None:
    assert choose([quote("uber_direct", 900, expires="14:59")], BY, MAX, NOW) is None


def test_a_carrier_without_a_maximum_is_never_chosen() -> None:
    assert (
        choose([quote("uber_direct", 100)], BY, {"doordash_drive": Money(9999, "GBP")}, NOW) is None
    )


def test_no_quotes_means_none() -> None:
    assert choose([], BY, MAX, NOW) is None


def test_a_tie_on_price_goes_to_the_earlier_delivery() -> None:
    quotes = [quote("uber_direct", 900, eta="17:30"), quote("doordash_drive", 900, eta="16:45")]
    assert choose(quotes, BY, MAX, NOW) == quotes[1]
