"""A merchant's price list for delivery options: a price per option type (and per slot start,
in the depot's local time), surcharges by weight and distance bands. Integer minor units."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.money import Money

OPTION_TYPES = ("standard", "express", "slot", "locker")


@dataclass(frozen=True)
class Band:
    over: float  # kg or km: the surcharge applies above this
    amount: int


@dataclass(frozen=True)
class PriceList:
    currency: str
    prices: dict[str, int]  # by option type; a type left out is not offered
    slot_prices: dict[str, int] = field(default_factory=dict)  # "HH:MM" local start -> price
    weight_bands: tuple[Band, ...] = ()
    distance_bands: tuple[Band, ...] = ()
    action_prices: dict[str, int] = field(default_factory=dict)  # paid customer actions

    def price(
        self, kind: str, *, local_start: str | None, weight_kg: float, distance_km: float | None
    ) -> Money | None:
        """The option's price, or None when the merchant does not offer that type. The
        highest band passed of each kind adds its surcharge (bands are not cumulative)."""
        base = self.prices.get(kind)
        if base is None:
            return None
        if kind == "slot" and local_start in self.slot_prices:
            base = self.slot_prices[local_start]
        amount = base + _surcharge(self.weight_bands, weight_kg)
        if distance_km is not None:
            amount += _surcharge(self.distance_bands, distance_km)
        return Money(amount, self.currency)

    def as_dict(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "prices": dict(self.prices),
            "slot_prices": dict(self.slot_prices),
            "weight_surcharges": [
                {"over_kg": b.over, "amount": b.amount} for b in self.weight_bands
            ],
            "distance_surcharges": [
                {"over_km": b.over, "amount": b.amount} for b in self.distance_bands
            ],
            "actions": dict(self.action_prices),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PriceList:
        return cls(
            currency=str(data["currency"]),
            prices={k: int(v) for k, v in dict(data.get("prices") or {}).items()},
            slot_prices={k: int(v) for k, v in dict(data.get("slot_prices") or {}).items()},
            weight_bands=tuple(
                Band(float(b["over_kg"]), int(b["amount"]))
                for b in data.get("weight_surcharges") or []
            ),
            distance_bands=tuple(
                Band(float(b["over_km"]), int(b["amount"]))
                for b in data.get("distance_surcharges") or []
            ),
            action_prices={k: int(v) for k, v in dict(data.get("actions") or {}).items()},
        )

    def action_price(self, action: str) -> Money | None:
        """What the customer pays for a tracking-page action; None: it is free."""
        amount = self.action_prices.get(action)
        return Money(amount, self.currency) if amount else None


def _surcharge(bands: tuple[Band, ...], value: float) -> int:
    passed = [b for b in bands if value > b.over]
    return max(passed, key=lambda b: b.over).amount if passed else 0
