"""Demo data for `make run`: a depot with its fleet, a merchant and its ready orders, made
through the real services."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from chalicelib import bootstrap
from chalicelib.accounts.service import NewDepot, NewMerchant
from chalicelib.domain.lockers import LockerAddress
from chalicelib.domain.order import Address, Customer, Delivery, DeliveryType, OrderDraft, Parcel
from chalicelib.domain.tenancy import Merchant, Vehicle
from chalicelib.local.demo_shift import demo_shift
from chalicelib.lockers.admin import NewLocker
from chalicelib.orders.service import Action, Inbound

DEMO_DEPOT_ID = "dep_demo_london"
DEMO_LOCKER_ID = "lkr_demo_london_bridge"
DEMO_LOCKER_ORDERS = 4


DEMO_ORDERS = 40


def demo_fleet(timezone: str, now: datetime | None = None) -> list[Vehicle]:
    """Three vans and a cargo bike on a twelve-hour shift from the hour before `now` (the
    seeding's clock), in the depot's time zone: whatever the hour `make run` starts at, what
    comes in next can be planned."""
    start, end = demo_shift(timezone, now or datetime.now(UTC))
    vans = [Vehicle(f"van-{n}", "van", 120, 800.0, start, end) for n in (1, 2, 3)]
    return [*vans, Vehicle("bike-1", "cargo_bike", 20, 120.0, start, end)]


@dataclass(frozen=True)
class DemoData:
    depot_id: str
    merchant_id: str
    api_key: str
    webhook_secret: str
    shopify_secret: str
    locker_id: str
    kiosk_key: str


def seed() -> DemoData:
    accounts = bootstrap.accounts()
    depot = accounts.create_depot(
        NewDepot(
            depot_id=DEMO_DEPOT_ID,
            name="London Bermondsey",
            lat=51.4975,
            lng=-0.0637,
            timezone="Europe/London",
            dispatch={"waves": ["10:00", "14:00"], "horizon_hours": 36, "time_limit_s": 10},
        )
    )
    accounts.set_fleet(depot.depot_id, demo_fleet(depot.timezone))
    shopify_secret = "shpss_" + secrets.token_hex(16)
    merchant, creds = accounts.create_merchant(
        NewMerchant(name="Demo Goods Ltd", depot_id=depot.depot_id, shopify_secret=shopify_secret)
    )
    locker, kiosk_key = bootstrap.locker_admin().create(
        NewLocker(
            locker_id=DEMO_LOCKER_ID,
            name="London Bridge Station",
            lat=51.5049,
            lng=-0.0863,
            depot_id=depot.depot_id,
            address=LockerAddress("Tooley Street", "London", "SE1 2TF"),
            compartments=[(f"{size}{n:02d}", size) for size in "SML" for n in range(1, 7)],
        )
    )
    demo_orders(merchant, locker.locker_id)
    return DemoData(
        depot_id=depot.depot_id,
        merchant_id=merchant.merchant_id,
        api_key=creds.api_key,
        webhook_secret=creds.webhook_secret,
        shopify_secret=shopify_secret,
        locker_id=locker.locker_id,
        kiosk_key=kiosk_key,
    )


def demo_orders(merchant: Merchant, locker_id: str) -> None:
    """Ready orders scattered over central and south-east London, for a first dispatch run; the
    first few are to be collected from the demo locker."""
    rng = random.Random(7)  # noqa: S311 (demo data, the same every start)
    orders = bootstrap.orders()
    for n in range(DEMO_ORDERS):
        draft = OrderDraft(
            external_id=f"demo-{1001 + n}",
            customer=Customer(
                name=rng.choice(NAMES), email=f"customer{n}@example.com", phone=demo_mobile(n)
            ),
            address=Address(
                line1=f"{rng.randint(1, 200)} Demo Street",
                city="London",
                postcode="SE1 2UP",
                country="GB",
                lat=round(51.4975 + rng.uniform(-0.05, 0.05), 5),
                lng=round(-0.0637 + rng.uniform(-0.09, 0.09), 5),
            ),
            parcels=tuple(
                Parcel(round(rng.uniform(0.3, 8.0), 1)) for _ in range(rng.randint(1, 2))
            ),
            delivery=Delivery(DeliveryType.LOCKER, locker_id)
            if n < DEMO_LOCKER_ORDERS
            else Delivery(),
        )
        orders.ingest(merchant, Inbound("api", Action.UPSERT, draft.external_id, draft))


def demo_mobile(n: int) -> str:
    """A UK mobile number that validates (Ofcom's drama range 07700 900xxx does not, so its
    SMS would never show in the demo); the local SNS stand-in captures them, nothing is sent."""
    return f"+447911123{n:03d}"


NAMES = ("Ada Lovelace", "Alan Turing", "Grace Hopper", "Mary Somerville", "Tim Berners-Lee")
