"""Demo data for `make run`: one depot and one merchant, made through the real services."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from chalicelib import bootstrap
from chalicelib.accounts.service import NewDepot, NewMerchant
from chalicelib.domain.tenancy import Vehicle

DEMO_DEPOT_ID = "dep_demo_london"


def demo_fleet(timezone: str) -> list[Vehicle]:
    """Three vans and a cargo bike on today's day shift, in the depot's time zone."""
    today = datetime.now(ZoneInfo(timezone)).date()
    start = datetime.combine(today, time(8), ZoneInfo(timezone)).isoformat()
    end = datetime.combine(today, time(18), ZoneInfo(timezone)).isoformat()
    vans = [Vehicle(f"van-{n}", "van", 120, 800.0, start, end) for n in (1, 2, 3)]
    return [*vans, Vehicle("bike-1", "cargo_bike", 20, 120.0, start, end)]


@dataclass(frozen=True)
class DemoData:
    depot_id: str
    merchant_id: str
    api_key: str
    webhook_secret: str
    shopify_secret: str


def seed() -> DemoData:
    accounts = bootstrap.accounts()
    depot = accounts.create_depot(
        NewDepot(
            depot_id=DEMO_DEPOT_ID,
            name="London Bermondsey",
            lat=51.4975,
            lng=-0.0637,
            timezone="Europe/London",
        )
    )
    accounts.set_fleet(depot.depot_id, demo_fleet(depot.timezone))
    shopify_secret = "shpss_" + secrets.token_hex(16)
    merchant, creds = accounts.create_merchant(
        NewMerchant(name="Demo Goods Ltd", depot_id=depot.depot_id, shopify_secret=shopify_secret)
    )
    return DemoData(
        depot_id=depot.depot_id,
        merchant_id=merchant.merchant_id,
        api_key=creds.api_key,
        webhook_secret=creds.webhook_secret,
        shopify_secret=shopify_secret,
    )
