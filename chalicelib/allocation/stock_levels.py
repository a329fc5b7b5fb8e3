"""Keeping depots' stock current: what the operator says is on the shelf, and what Shopify's
`inventory_levels/update` webhooks say is available, through the merchant's location and
inventory item map."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chalicelib.accounts.service import AccountService
from chalicelib.domain.errors import MerchantNotFound, ValidationFailed
from chalicelib.domain.tenancy import Merchant
from chalicelib.domain.times import iso_z, utc_now
from chalicelib.intake.canonical import StoreTime
from chalicelib.request_bodies import validation_failed
from chalicelib.store.stock import StockRepository

INVENTORY_TOPIC = "inventory_levels/update"


class InventoryLevel(BaseModel):
    """Shopify's InventoryLevel webhook body (what is `available` of one item at one location)."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)
    inventory_item_id: str = Field(pattern=r"^[0-9]{1,20}$")
    location_id: str = Field(pattern=r"^[0-9]{1,20}$")
    available: int | None = Field(default=None, ge=-10_000_000, le=10_000_000)
    updated_at: StoreTime


@dataclass(frozen=True)
class LevelApplied:
    outcome: str  # updated, stale, ignored
    reason: str | None = None


class StockLevels:
    def __init__(
        self,
        repo: StockRepository,
        accounts: AccountService,
        clock: Callable[[], str] = utc_now,
    ) -> None:
        self._repo = repo
        self._accounts = accounts
        self._clock = clock

    def put(
        self, depot_id: str, merchant_id: str, shelf: Sequence[tuple[str, int]]
    ) -> list[dict[str, Any]]:
        """Set what is on the shelf of the merchant's given SKUs at the depot (which must serve
        the merchant); every given SKU's level after."""
        self._accounts.depot(depot_id)  # DepotNotFound: 404
        if depot_id not in self._merchant_depots(merchant_id):
            raise ValidationFailed(
                f"merchant_id: depot {depot_id} does not serve merchant {merchant_id}",
                field="merchant_id",
            )
        levels = self._repo.put_levels(depot_id, merchant_id, shelf, self._clock())
        return [asdict(level) for level in levels]

    def levels(self, depot_id: str, merchant_id: str | None = None) -> list[dict[str, Any]]:
        self._accounts.depot(depot_id)
        return [asdict(level) for level in self._repo.levels(depot_id, merchant_id)]

    def _merchant_depots(self, merchant_id: str) -> tuple[str, ...]:
        try:
            return tuple(self._accounts.merchant(merchant_id).serving_depots)
        except MerchantNotFound:
            return ()

    def map_shopify(
        self, merchant_id: str, locations: dict[str, str], items: dict[str, str]
    ) -> dict[str, Any]:
        """Replace the merchant's map; every location must be one of its depots."""
        merchant = self._accounts.merchant(merchant_id)
        for location_id, depot_id in locations.items():
            if depot_id not in merchant.serving_depots:
                where = f"locations.{location_id}"
                raise ValidationFailed(
                    f"{where}: depot {depot_id} does not serve this merchant", field=where
                )
        self._repo.put_inventory_map(merchant_id, locations, items, self._clock())
        return {"locations": locations, "items": items}

    def apply_shopify(self, merchant: Merchant, payload: Any) -> LevelApplied:
        """One signed `inventory_levels/update`: the mapped depot's SKU gets Shopify's available
        quantity, unless a newer one was applied. Unmapped locations and items are ignored
        (acknowledged: Shopify would otherwise retry them and drop the subscription)."""
        try:
            level = InventoryLevel.model_validate(payload)
        except ValidationError as exc:
            raise validation_failed(exc) from exc
        if level.available is None:
            return LevelApplied("ignored", "inventory item is not tracked")
        locations, items = self._repo.inventory_map(merchant.merchant_id)
        depot_id = locations.get(level.location_id)
        sku = items.get(level.inventory_item_id)
        if depot_id is None or depot_id not in merchant.serving_depots:
            return LevelApplied("ignored", f"location {level.location_id} is not mapped")
        if sku is None:
            return LevelApplied(
                "ignored", f"inventory item {level.inventory_item_id} is not mapped"
            )
        applied = self._repo.apply_shopify_level(
            depot_id,
            merchant.merchant_id,
            sku,
            level.available,
            iso_z(level.updated_at, "milliseconds"),
            self._clock(),
        )
        return LevelApplied("updated" if applied else "stale")
