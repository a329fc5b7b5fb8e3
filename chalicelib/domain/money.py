"""Money as integer minor units (cents, pence) with an ISO 4217 currency: never a float."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Money:
    amount: int  # minor units
    currency: str  # ISO 4217, upper case

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount < 0:
            raise ValueError("an amount is a whole, non-negative number of minor units")
        if len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.isupper():
            raise ValueError("a currency is three upper-case letters (ISO 4217)")

    def times(self, count: int) -> Money:
        return Money(self.amount * count, self.currency)

    def view(self) -> dict[str, int | str]:
        return {"amount": self.amount, "currency": self.currency}
