"""Merchants, their API-key lookups and depots in the main table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pynamodb.expressions.update import Action

from chalicelib.domain.errors import AlreadyExists, DepotNotFound, DomainError, MerchantNotFound
from chalicelib.domain.tenancy import Brand, Depot, Merchant, ShiftBreak, Vehicle
from chalicelib.store.models.base import MainItem
from chalicelib.store.models.tenancy import (
    BrandAttribute,
    DepotItem,
    FleetItem,
    MerchantItem,
    MerchantLookupItem,
    ShiftBreakAttribute,
    VehicleAttribute,
)
from chalicelib.store.paging import Key, Page, read_page
from chalicelib.store.reads import get_one
from chalicelib.store.transaction import Transaction, failing_as

ALL_MERCHANTS = "MERCHANTS"  # the index key every merchant is under
ALL_DEPOTS = "DEPOTS"  # and every depot
_NEW = MainItem.pk.does_not_exist()
_EXISTS = MainItem.pk.exists()


def _merchant_key(merchant_id: str) -> tuple[str, str]:
    return f"MERCHANT#{merchant_id}", "PROFILE"


def _api_key_key(api_key_hash: str) -> tuple[str, str]:
    return f"APIKEY#{api_key_hash}", "APIKEY"


def _stripe_account_key(account_id: str) -> tuple[str, str]:
    return f"STRIPEACCT#{account_id}", "STRIPEACCT"


def _depot_key(depot_id: str) -> tuple[str, str]:
    return f"DEPOT#{depot_id}", "PROFILE"


def _fleet_key(depot_id: str) -> tuple[str, str]:
    return f"DEPOT#{depot_id}", "FLEET"


class TenancyRepository:
    def create_merchant(self, merchant: Merchant, api_key_hash: str) -> None:
        """The merchant, its key lookup and its Stripe account claim, all or nothing."""
        tx = Transaction()
        tx.put(
            _merchant_model(merchant),
            condition=_NEW,
            on_fail=AlreadyExists(f"merchant {merchant.merchant_id} exists"),
        )
        tx.put(
            MerchantLookupItem(*_api_key_key(api_key_hash), merchant_id=merchant.merchant_id),
            condition=_NEW,
            on_fail=AlreadyExists("api key collision"),
        )
        if merchant.stripe_account_id:
            tx.put(
                MerchantLookupItem(
                    *_stripe_account_key(merchant.stripe_account_id),
                    merchant_id=merchant.merchant_id,
                ),
                condition=_NEW,
                on_fail=AlreadyExists(
                    f"Stripe account {merchant.stripe_account_id} belongs to another merchant",
                    field="stripe_account_id",
                ),
            )
        tx.commit()

    def get_merchant(self, merchant_id: str) -> Merchant | None:
        item = get_one(MerchantItem, *_merchant_key(merchant_id))
        return _merchant(item) if item else None

    def list_merchants(self) -> list[Merchant]:
        return [_merchant(item) for item in MerchantItem.all_merchants.query(ALL_MERCHANTS)]

    def merchants_page(self, *, limit: int, start: Key | None) -> Page[Merchant]:
        """A page of every merchant, by id."""
        page = read_page(
            MerchantItem,
            lambda **more: MerchantItem.all_merchants.query(ALL_MERCHANTS, **more),
            limit=limit,
            start=start,
        )
        return Page([_merchant(item) for item in page.items], page.last_key)

    def depots_page(self, *, limit: int, start: Key | None) -> Page[Depot]:
        """A page of every depot, by id."""
        page = read_page(
            DepotItem,
            lambda **more: DepotItem.all_depots.query(ALL_DEPOTS, **more),
            limit=limit,
            start=start,
        )
        return Page([_depot(item) for item in page.items], page.last_key)

    def merchant_for_api_key(self, api_key_hash: str) -> Merchant | None:
        ref = get_one(MerchantLookupItem, *_api_key_key(api_key_hash))
        return self.get_merchant(ref.merchant_id) if ref else None

    def merchant_for_stripe_account(self, account_id: str) -> Merchant | None:
        ref = get_one(MerchantLookupItem, *_stripe_account_key(account_id))
        return self.get_merchant(ref.merchant_id) if ref else None

    def create_depot(self, depot: Depot) -> None:
        tx = Transaction()
        tx.put(
            DepotItem(
                *_depot_key(depot.depot_id),
                depot_id=depot.depot_id,
                name=depot.name,
                lat=depot.lat,
                lng=depot.lng,
                timezone=depot.timezone,
                created_at=depot.created_at,
                dispatch=depot.dispatch,
                fulfilment=depot.fulfilment or None,
                gsi1pk=ALL_DEPOTS,
                gsi1sk=depot.depot_id,
            ),
            condition=_NEW,
            on_fail=AlreadyExists(f"depot {depot.depot_id} exists", field="depot_id"),
        )
        tx.commit()

    def put_fleet(self, depot_id: str, vehicles: list[Vehicle], at: str) -> None:
        """Replace the depot's fleet as one item (read whole by every dispatch run)."""
        tx = Transaction()
        tx.check(
            DepotItem,
            *_depot_key(depot_id),
            condition=_EXISTS,
            on_fail=DepotNotFound(f"no depot {depot_id}"),
        )
        tx.put(
            FleetItem(
                *_fleet_key(depot_id),
                updated_at=at,
                vehicles=[
                    VehicleAttribute(
                        vehicle_id=v.vehicle_id,
                        profile=v.profile,
                        capacity_parcels=v.capacity_parcels,
                        capacity_weight_kg=v.capacity_weight_kg,
                        shift_start=v.shift_start,
                        shift_end=v.shift_end,
                        skills=list(v.skills),
                        breaks=[
                            ShiftBreakAttribute(
                                earliest=b.earliest, latest=b.latest, duration_s=b.duration_s
                            )
                            for b in v.breaks
                        ]
                        or None,
                        max_trips=v.max_trips if v.max_trips != 1 else None,
                        reload_s=v.reload_s if v.max_trips != 1 else None,
                    )
                    for v in vehicles
                ],
            )
        )
        tx.commit()

    def get_fleet(self, depot_id: str) -> list[Vehicle]:
        item = get_one(FleetItem, *_fleet_key(depot_id))
        return _fleet(item) if item else []

    def get_depot_and_fleet(self, depot_id: str) -> tuple[Depot | None, list[Vehicle]]:
        """The depot and its vehicles in one batch read (a quote's hot path)."""
        depot: Depot | None = None
        fleet: list[Vehicle] = []
        keys = [_depot_key(depot_id), _fleet_key(depot_id)]
        for item in MainItem.batch_get(keys, consistent_read=True):
            if isinstance(item, DepotItem):
                depot = _depot(item)
            elif isinstance(item, FleetItem):
                fleet = _fleet(item)
        return depot, fleet

    def set_notifications_off(self, merchant_id: str, off: list[str]) -> Merchant:
        item = MerchantItem(*_merchant_key(merchant_id))
        _update_existing(
            item,
            [MerchantItem.notifications_off.set(off)],
            MerchantNotFound(f"no merchant {merchant_id}"),
        )
        return _merchant(item)

    def set_brand(self, merchant_id: str, brand: Brand) -> Merchant:
        item = MerchantItem(*_merchant_key(merchant_id))
        _update_existing(
            item,
            [MerchantItem.brand.set(BrandAttribute(**brand.fields()))],
            MerchantNotFound(f"no merchant {merchant_id}"),
        )
        return _merchant(item)

    def set_dispatch_policy(self, depot_id: str, policy: dict[str, Any]) -> Depot:
        item = DepotItem(*_depot_key(depot_id))
        _update_existing(
            item, [DepotItem.dispatch.set(policy)], DepotNotFound(f"no depot {depot_id}")
        )
        return _depot(item)

    def get_depot(self, depot_id: str) -> Depot | None:
        item = get_one(DepotItem, *_depot_key(depot_id))
        return _depot(item) if item else None

    def get_depots(self, depot_ids: Sequence[str]) -> list[Depot]:
        """The depots of these ids that exist (one batch read), in no particular order."""
        keys = [_depot_key(depot_id) for depot_id in dict.fromkeys(depot_ids)]
        if not keys:
            return []
        items = DepotItem.batch_get(keys, consistent_read=True)
        return [_depot(item) for item in items if isinstance(item, DepotItem)]

    def set_fulfilment(self, depot_id: str, fulfilment: dict[str, Any]) -> Depot:
        item = DepotItem(*_depot_key(depot_id))
        _update_existing(
            item, [DepotItem.fulfilment.set(fulfilment)], DepotNotFound(f"no depot {depot_id}")
        )
        return _depot(item)

    def set_carriers(self, depot_id: str, carriers: list[dict[str, Any]]) -> Depot:
        item = DepotItem(*_depot_key(depot_id))
        _update_existing(
            item,
            [DepotItem.carriers.set({"carriers": carriers})],
            DepotNotFound(f"no depot {depot_id}"),
        )
        return _depot(item)


def _update_existing(item: MainItem, actions: list[Action], missing: DomainError) -> None:
    """Update an item that must exist (`missing` is raised if not); `item` holds it after."""
    with failing_as(missing):
        item.update(actions, condition=_EXISTS)


def _merchant_model(merchant: Merchant) -> MerchantItem:
    return MerchantItem(
        *_merchant_key(merchant.merchant_id),
        merchant_id=merchant.merchant_id,
        name=merchant.name,
        depot_id=merchant.depot_id,
        created_at=merchant.created_at,
        stripe_account_id=merchant.stripe_account_id,
        notifications_off=list(merchant.notifications_off),
        depot_ids=list(merchant.depot_ids) or None,
        brand=BrandAttribute(**merchant.brand.fields()),
        gsi1pk=ALL_MERCHANTS,
        gsi1sk=merchant.merchant_id,
    )


def _merchant(item: MerchantItem) -> Merchant:
    return Merchant(
        merchant_id=item.merchant_id,
        name=item.name,
        depot_id=item.depot_id,
        created_at=item.created_at,
        stripe_account_id=item.stripe_account_id,
        notifications_off=tuple(item.notifications_off or ()),
        depot_ids=tuple(item.depot_ids or ()),
        brand=_brand(item.brand),
    )


def _brand(item: BrandAttribute | None) -> Brand:
    if item is None:
        return Brand()
    return Brand(item.display_name, item.colour, item.help_url)


def _depot(item: DepotItem) -> Depot:
    return Depot(
        depot_id=item.depot_id,
        name=item.name,
        lat=item.lat,
        lng=item.lng,
        timezone=item.timezone,
        created_at=item.created_at,
        dispatch=item.dispatch.as_dict() if item.dispatch else {},
        fulfilment=item.fulfilment.as_dict() if item.fulfilment else {},
        carriers=tuple(_carriers(item.carriers.as_dict() if item.carriers else {})),
    )


def _carriers(stored: dict[str, Any]) -> list[dict[str, Any]]:
    """The depot's carriers with amounts as whole numbers (DynamoDB gives Decimals)."""
    found = stored.get("carriers") or []
    return [
        {**c, "max_price": {**c["max_price"], "amount": int(c["max_price"]["amount"])}}
        for c in found
    ]


def _fleet(item: FleetItem) -> list[Vehicle]:
    return [
        Vehicle(
            vehicle_id=v.vehicle_id,
            profile=v.profile,
            capacity_parcels=int(v.capacity_parcels),
            capacity_weight_kg=v.capacity_weight_kg,
            shift_start=v.shift_start,
            shift_end=v.shift_end,
            skills=tuple(v.skills or ()),
            breaks=tuple(
                ShiftBreak(b.earliest, b.latest, float(b.duration_s)) for b in v.breaks or ()
            ),
            max_trips=int(v.max_trips or 1),
            reload_s=600.0 if v.reload_s is None else float(v.reload_s),
        )
        for v in item.vehicles
    ]
