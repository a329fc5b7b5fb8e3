"""Creating merchants and depots, rotating their secrets, and recognising who is calling."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib.domain.dispatch import DispatchPolicy
from chalicelib.domain.errors import (
    AuthenticationFailed,
    DepotNotFound,
    MerchantNotFound,
    ValidationFailed,
)
from chalicelib.domain.tenancy import (
    Brand,
    Depot,
    Merchant,
    MerchantCredentials,
    Vehicle,
    key_hash,
    new_credentials,
    new_depot_id,
    new_merchant_id,
)
from chalicelib.domain.times import utc_now
from chalicelib.store.paging import Key, Page
from chalicelib.store.secrets import MerchantSecrets
from chalicelib.store.tenancy import TenancyRepository

PLATFORM_SECRETS = ("shopify", "woocommerce")


@dataclass(frozen=True)
class NewMerchant:
    name: str
    depot_id: str
    shopify_secret: str | None = None
    woocommerce_secret: str | None = None
    stripe_account_id: str | None = None
    depot_ids: list[str] | None = None  # every depot that may fulfil its orders


@dataclass(frozen=True)
class NewDepot:
    name: str
    lat: float
    lng: float
    timezone: str
    depot_id: str | None = None
    dispatch: dict[str, Any] | None = None
    fulfilment: dict[str, Any] | None = None


class Schedules(Protocol):
    def sync(self, depot_id: str, timezone: str, policy: DispatchPolicy) -> list[str]: ...


class AccountService:
    def __init__(
        self,
        repo: TenancyRepository,
        secrets: MerchantSecrets,
        admin_key_sha256: str,
        schedules: Schedules | None = None,
    ) -> None:
        self._repo = repo
        self._secrets = secrets
        self._admin_key_sha256 = admin_key_sha256
        self._schedules = schedules

    def authenticate_admin(self, key: str | None) -> None:
        if not key or not self._admin_key_sha256:
            raise AuthenticationFailed("a valid operator key is required")
        if not hmac.compare_digest(key_hash(key), self._admin_key_sha256):
            raise AuthenticationFailed("a valid operator key is required")

    def authenticate_merchant(self, api_key: str | None) -> Merchant:
        merchant = self._repo.merchant_for_api_key(key_hash(api_key)) if api_key else None
        if merchant is None:
            raise AuthenticationFailed("a valid merchant API key is required")
        return merchant

    def create_merchant(self, new: NewMerchant) -> tuple[Merchant, MerchantCredentials]:
        """A merchant with a fresh API key (only its hash is kept) and webhook secrets."""
        if self._repo.get_depot(new.depot_id) is None:
            raise ValidationFailed(f"depot_id: no depot {new.depot_id}", field="depot_id")
        # `depot_id` is the first of them, whether the list names it or not.
        serving = list(dict.fromkeys([new.depot_id, *(new.depot_ids or ())]))
        known = {d.depot_id for d in self._repo.get_depots(serving)}
        for index, depot_id in enumerate(new.depot_ids or ()):
            if depot_id not in known:
                raise ValidationFailed(
                    f"depot_ids.{index}: no depot {depot_id}", field=f"depot_ids.{index}"
                )
        merchant = Merchant(
            merchant_id=new_merchant_id(),
            name=new.name,
            depot_id=new.depot_id,
            created_at=utc_now(),
            stripe_account_id=new.stripe_account_id,
            depot_ids=tuple(serving) if len(serving) > 1 else (),
        )
        credentials = new_credentials()
        platform_secrets = {"standard": credentials.webhook_secret}
        if new.shopify_secret:
            platform_secrets["shopify"] = new.shopify_secret
        if new.woocommerce_secret:
            platform_secrets["woocommerce"] = new.woocommerce_secret
        # The secret first: a merchant row without its secret could never verify a webhook.
        self._secrets.create(merchant.merchant_id, platform_secrets)
        try:
            self._repo.create_merchant(merchant, key_hash(credentials.api_key))
        except Exception:
            self._secrets.discard(merchant.merchant_id)
            raise
        return merchant, credentials

    def rotate_secret(self, merchant_id: str, platform: str, secret: str) -> None:
        if platform not in PLATFORM_SECRETS:
            raise ValidationFailed(f"platform must be one of {', '.join(PLATFORM_SECRETS)}")
        self.merchant(merchant_id)
        self._secrets.rotate(merchant_id, platform, secret)

    def merchant(self, merchant_id: str) -> Merchant:
        merchant = self._repo.get_merchant(merchant_id)
        if merchant is None:
            raise MerchantNotFound(f"no merchant {merchant_id}")
        return merchant

    def webhook_secrets(self, merchant_id: str, platform: str) -> list[str]:
        return self._secrets.active(merchant_id, platform)

    def platform_secret(self, name: str) -> str | None:
        return self._secrets.platform_secret(name)

    def merchants(self) -> list[Merchant]:
        return self._repo.list_merchants()

    def merchants_page(self, *, limit: int, start: Key | None) -> Page[Merchant]:
        """A page of every merchant, by id: profiles only (keys and secrets are never kept
        with them, and so never listed)."""
        return self._repo.merchants_page(limit=limit, start=start)

    def depots_page(self, *, limit: int, start: Key | None) -> Page[Depot]:
        """A page of every depot, by id."""
        return self._repo.depots_page(limit=limit, start=start)

    def connection(self, merchant_id: str, platform: str) -> dict[str, Any] | None:
        return self._secrets.connection(merchant_id, platform)

    def connect(self, merchant_id: str, platform: str, credentials: dict[str, Any]) -> None:
        """Store the API credentials lastmile uses to pull a merchant's orders (catch-up)."""
        self.merchant(merchant_id)
        self._secrets.set_connection(merchant_id, platform, credentials)

    def set_notifications_off(self, merchant_id: str, off: list[str]) -> Merchant:
        """Which customer messages (type and channel) the merchant switched off."""
        return self._repo.set_notifications_off(merchant_id, sorted(set(off)))

    def set_brand(self, merchant_id: str, brand: Brand) -> Merchant:
        """The name, colour and help link the merchant's customers see on the tracking page."""
        return self._repo.set_brand(merchant_id, brand)

    def merchant_for_stripe_account(self, account_id: str) -> Merchant | None:
        return self._repo.merchant_for_stripe_account(account_id)

    def create_depot(self, new: NewDepot) -> Depot:
        try:
            ZoneInfo(new.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationFailed(
                f"timezone: unknown time zone {new.timezone!r}", field="timezone"
            ) from exc
        depot = Depot(
            depot_id=new.depot_id or new_depot_id(),
            name=new.name,
            lat=new.lat,
            lng=new.lng,
            timezone=new.timezone,
            created_at=utc_now(),
            dispatch=new.dispatch or {},
            fulfilment=new.fulfilment or {},
        )
        self._repo.create_depot(depot)
        self._schedule(depot)
        return depot

    def set_dispatch_policy(self, depot_id: str, policy: dict[str, Any]) -> Depot:
        """Replace the depot's dispatch policy; its schedules follow."""
        self.depot(depot_id)
        depot = self._repo.set_dispatch_policy(depot_id, policy)
        self._schedule(depot)
        return depot

    def set_fulfilment(self, depot_id: str, fulfilment: dict[str, Any]) -> Depot:
        """Replace the depot's service area, daily capacity and cut-off."""
        return self._repo.set_fulfilment(depot_id, fulfilment)

    def set_carriers(self, depot_id: str, carriers: list[dict[str, Any]]) -> Depot:
        """Replace the partner carriers the depot offers its overflow to."""
        return self._repo.set_carriers(depot_id, carriers)

    def _schedule(self, depot: Depot) -> None:
        if self._schedules is not None:
            policy = DispatchPolicy.from_dict(depot.dispatch)
            self._schedules.sync(depot.depot_id, depot.timezone, policy)

    def set_fleet(self, depot_id: str, vehicles: list[Vehicle]) -> list[Vehicle]:
        ids = [v.vehicle_id for v in vehicles]
        if len(set(ids)) != len(ids):
            raise ValidationFailed("vehicles: vehicle_id must be unique", field="vehicles")
        self._repo.put_fleet(depot_id, vehicles, utc_now())
        return vehicles

    def fleet(self, depot_id: str) -> list[Vehicle]:
        self.depot(depot_id)
        return self._repo.get_fleet(depot_id)

    def depot_fleet(self, depot_id: str) -> tuple[Depot, list[Vehicle]]:
        """The depot and its vehicles (DepotNotFound for no such depot), in one read."""
        depot, fleet = self._repo.get_depot_and_fleet(depot_id)
        if depot is None:
            raise DepotNotFound(f"no depot {depot_id}")
        return depot, fleet

    def depot(self, depot_id: str) -> Depot:
        depot = self._repo.get_depot(depot_id)
        if depot is None:
            raise DepotNotFound(f"no depot {depot_id}")
        return depot
