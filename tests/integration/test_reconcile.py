"""Catch-up against moto and local Shopify/WooCommerce servers, through the real clients: missed
orders appear, nothing is written twice, one shop's outage stays its own, pages are followed."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from woocommerce import API

from chalicelib import bootstrap
from chalicelib.accounts.service import NewDepot, NewMerchant
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.tenancy import Merchant
from chalicelib.local.platform_fakes import ShopifyAdminFake, WooCommerceFake
from chalicelib.reconcile.connections import platform_clients
from chalicelib.reconcile.ports import ClientsFactory, PlatformOrders
from chalicelib.reconcile.service import OVERLAP, MerchantRun, ReconcileService, RunSummary
from chalicelib.reconcile.shopify_client import ShopifyOrders
from chalicelib.reconcile.woocommerce_client import WooCommerceOrders
from chalicelib.store.reconcile_cursors import ReconcileCursors, ReconcileRotation
from tests.builders import shopify_headers, woocommerce_headers

pytestmark = pytest.mark.usefixtures("aws")

EVENTS = Path(__file__).parents[1] / "events" / "reconcile"
CLOSED = "http://127.0.0.1:9"  # shops of earlier tests, whose fakes are gone: refused at once


@pytest.fixture(scope="module")
def depot_id() -> str:
    depot = bootstrap.accounts().create_depot(
        NewDepot(name="Catch-up", lat=51.5, lng=-0.12, timezone="Europe/London")
    )
    return depot.depot_id


@pytest.fixture
def shops() -> Iterator[dict[str, ShopifyAdminFake]]:
    """Shopify fakes by shop domain, stopped after the test."""
    running: dict[str, ShopifyAdminFake] = {}
    yield running
    for fake in running.values():
        fake.stop()


@pytest.fixture
def woo_shops() -> Iterator[list[WooCommerceFake]]:
    running: list[WooCommerceFake] = []
    yield running
    for fake in running:
        fake.stop()


@pytest.fixture
def moment() -> Callable[[int], datetime]:
    """Whole seconds counted from just after the test began (platforms keep seconds; merchants,
    created during the test, join mid-second and see only changes after that)."""
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    return lambda seconds: start + timedelta(seconds=seconds)


def shopify_order(order_id: int, at: datetime, **overrides: Any) -> dict[str, Any]:
    order = json.loads((EVENTS / "shopify_order.json").read_text())
    order.update(id=order_id, updated_at=at.isoformat(), **overrides)
    return order


def woo_order(order_id: int, at: datetime, **overrides: Any) -> dict[str, Any]:
    order = json.loads((EVENTS / "woocommerce_order.json").read_text())
    order.update(id=order_id, date_modified_gmt=at.replace(tzinfo=None).isoformat(), **overrides)
    return order


def a_merchant(depot_id: str, name: str) -> Merchant:
    merchant, _ = bootstrap.accounts().create_merchant(
        NewMerchant(
            name=name, depot_id=depot_id, shopify_secret="shp-hook", woocommerce_secret="wc-hook"
        )
    )
    return merchant


def connect_shopify(
    shops: dict[str, ShopifyAdminFake], merchant: Merchant, *orders: dict[str, Any]
) -> ShopifyAdminFake:
    shop = f"{merchant.merchant_id.replace('_', '-')}.myshopify.com"
    fake = ShopifyAdminFake(access_token=f"shpat_{merchant.merchant_id}").start()
    fake.put(*orders)
    shops[shop] = fake
    bootstrap.accounts().connect(
        merchant.merchant_id, "shopify", {"shop": shop, "access_token": fake.access_token}
    )
    return fake


def connect_woocommerce(
    woo_shops: list[WooCommerceFake], merchant: Merchant, *orders: dict[str, Any]
) -> WooCommerceFake:
    fake = WooCommerceFake(f"ck_{merchant.merchant_id}", f"cs_{merchant.merchant_id}").start()
    fake.put(*orders)
    woo_shops.append(fake)
    bootstrap.accounts().connect(
        merchant.merchant_id,
        "woocommerce",
        {
            "url": fake.endpoint,
            "consumer_key": fake.consumer_key,
            "consumer_secret": fake.consumer_secret,
        },
    )
    return fake


def local_clients(shops: dict[str, ShopifyAdminFake]) -> ClientsFactory:
    """The production factory, with Shopify shops reached at their fakes and plain HTTP allowed."""
    return platform_clients(
        shopify_base_url=lambda shop: shops[shop].endpoint if shop in shops else CLOSED,
        require_https=False,
    )


def small_pages(shops: dict[str, ShopifyAdminFake], size: int) -> ClientsFactory:
    """The real adapters with tiny pages, so a handful of orders spans several."""

    def build(platform: str, credentials: dict[str, Any]) -> PlatformOrders:
        if platform == "shopify":
            fake = shops.get(credentials["shop"])
            return ShopifyOrders(
                requests.Session(),
                fake.endpoint if fake else CLOSED,
                credentials["access_token"],
                page_size=size,
            )
        api = API(credentials["url"], credentials["consumer_key"], credentials["consumer_secret"])
        return WooCommerceOrders(api, page_size=size)

    return build


def cursors() -> ReconcileCursors:
    bootstrap.store()
    return ReconcileCursors()


def reconcile(clients: ClientsFactory) -> ReconcileService:
    return ReconcileService(bootstrap.accounts(), bootstrap.orders(), cursors(), clients)


def run_of(summary: RunSummary, merchant: Merchant, platform: str) -> MerchantRun:
    [run] = [
        r for r in summary.runs if r.merchant_id == merchant.merchant_id and r.platform == platform
    ]
    return run


def snapshot() -> tuple[list[Any], list[Any]]:
    """Every item of both tables, in a stable order: any write at all shows as a difference."""
    client, s = bootstrap.client("dynamodb"), bootstrap.settings()

    def items(table: str) -> list[Any]:
        pages = client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
        return sorted((json.dumps(i, sort_keys=True) for p in pages for i in p["Items"]), key=str)

    return items(s.main_table), items(s.outbox_table)


def external_ids(merchant: Merchant) -> Counter[str]:
    return Counter(o.external_id for o in bootstrap.orders().find(merchant, None))


def test_orders_missed_by_webhooks_appear_and_a_second_run_writes_nothing(
    depot_id: str,
    shops: dict[str, ShopifyAdminFake],
    woo_shops: list[WooCommerceFake],
    moment: Callable[[int], datetime],
) -> None:
    merchant = a_merchant(depot_id, "Missed webhooks")
    shop = connect_shopify(
        shops,
        merchant,
        shopify_order(101, moment(1)),
        shopify_order(102, moment(2), closed_at=moment(2).isoformat()),
        # Cancelled before lastmile ever heard of it: nothing to cancel, nothing created.
        shopify_order(103, moment(3), cancelled_at=moment(3).isoformat()),
        # Changed before the merchant joined: outside the window.
        shopify_order(100, datetime(2026, 1, 1, tzinfo=UTC)),
    )
    woo = connect_woocommerce(
        woo_shops,
        merchant,
        woo_order(201, moment(1)),
        woo_order(202, moment(4)),
        woo_order(203, moment(5), status="pending"),  # unpaid: nothing to deliver yet
    )
    service = reconcile(local_clients(shops))

    first = service.run()

    assert run_of(first, merchant, "shopify").outcomes == {"created": 2, "ignored": 1}
    assert run_of(first, merchant, "woocommerce").outcomes == {"created": 2, "ignored": 1}
    assert external_ids(merchant) == {"101": 1, "102": 1, "201": 1, "202": 1}
    asked = shop.requests[0].query
    assert (asked["status"], asked["order"]) == ("any", "updated_at asc")
    assert woo.auth_used == ["oauth"], "the woocommerce client signs requests on plain HTTP"
    assert woo.requests[0].query["dates_are_gmt"] == "true"
    assert cursors().get(merchant.merchant_id, "woocommerce") == moment(5)

    before = snapshot()
    second = service.run()

    assert run_of(second, merchant, "shopify").outcomes == {"duplicate": 2, "ignored": 1}
    assert run_of(second, merchant, "woocommerce").outcomes == {"duplicate": 2, "ignored": 1}
    assert snapshot() == before


def test_an_order_received_by_webhook_is_not_duplicated_and_later_changes_apply(
    depot_id: str,
    shops: dict[str, ShopifyAdminFake],
    woo_shops: list[WooCommerceFake],
    moment: Callable[[int], datetime],
) -> None:
    merchant = a_merchant(depot_id, "Webhooks worked")
    order = shopify_order(301, moment(1))
    wc = woo_order(401, moment(1))
    shop = connect_shopify(shops, merchant, order)
    connect_woocommerce(woo_shops, merchant, wc)
    hooks = bootstrap.storefront_intake()
    body = json.dumps(order).encode()
    headers = shopify_headers("shp-hook", body, topic="orders/create", event_id="evt-301")
    hooks.shopify(merchant.merchant_id, {k.lower(): v for k, v in headers.items()}, body)
    body = json.dumps(wc).encode()
    headers = woocommerce_headers("wc-hook", body, topic="order.created")
    hooks.woocommerce(merchant.merchant_id, {k.lower(): v for k, v in headers.items()}, body)
    service = reconcile(local_clients(shops))

    first = service.run()

    # Shopify's webhook id differs from ours; the same version is then simply not newer.
    assert run_of(first, merchant, "shopify").outcomes == {"stale": 1}
    # WooCommerce's version id is the order's own: the very same receipt.
    assert run_of(first, merchant, "woocommerce").outcomes == {"duplicate": 1}
    assert external_ids(merchant) == {"301": 1, "401": 1}

    moved = {**order["shipping_address"], "address1": "1 Gower Street", "zip": "WC1E 6BT"}
    shop.put({**order, "updated_at": moment(10).isoformat(), "shipping_address": moved})
    second = service.run()

    assert run_of(second, merchant, "shopify").outcomes == {"updated": 1}
    [stored] = [o for o in bootstrap.orders().find(merchant, "301")]
    assert stored.address.line1 == "1 Gower Street"
    assert external_ids(merchant) == {"301": 1, "401": 1}


def test_a_platform_outage_keeps_that_merchants_cursor_and_others_are_still_reconciled(
    depot_id: str,
    shops: dict[str, ShopifyAdminFake],
    woo_shops: list[WooCommerceFake],
    moment: Callable[[int], datetime],
) -> None:
    down, up = a_merchant(depot_id, "Shop down"), a_merchant(depot_id, "Shop up")
    shop = connect_shopify(shops, down, *(shopify_order(500 + n, moment(n)) for n in range(1, 4)))
    connect_woocommerce(woo_shops, up, woo_order(601, moment(1)))
    service = reconcile(small_pages(shops, 1))

    shop.fail(503)
    first = service.run()

    assert run_of(first, down, "shopify").error == "platform_unavailable: Shopify answered 503"
    assert cursors().get(down.merchant_id, "shopify") is None
    assert run_of(first, up, "woocommerce").outcomes == {"created": 1}
    assert external_ids(down) == {}

    shop.fail(503, after=1)  # the first page is served, the second fails: a crash half-way
    second = service.run()

    assert run_of(second, down, "shopify").error is not None
    assert cursors().get(down.merchant_id, "shopify") == moment(1)
    assert external_ids(down) == {"501": 1}

    shop.fail(None)
    requests_before = len(shop.requests)
    third = service.run()

    restart = shop.requests[requests_before].query["updated_at_min"]
    assert datetime.fromisoformat(restart) == moment(1) - OVERLAP
    assert run_of(third, down, "shopify").outcomes == {"duplicate": 1, "created": 2}
    assert external_ids(down) == {"501": 1, "502": 1, "503": 1}
    assert cursors().get(down.merchant_id, "shopify") == moment(3)


def test_wrong_credentials_are_reported_for_that_connection(
    depot_id: str,
    shops: dict[str, ShopifyAdminFake],
    woo_shops: list[WooCommerceFake],
    moment: Callable[[int], datetime],
) -> None:
    merchant = a_merchant(depot_id, "Revoked keys")
    shop = connect_shopify(shops, merchant, shopify_order(701, moment(1)))
    woo = connect_woocommerce(woo_shops, merchant, woo_order(801, moment(1)))
    shop.access_token = "shpat_rotated"
    woo.consumer_secret = "cs_rotated"

    summary = reconcile(local_clients(shops)).run()

    assert run_of(summary, merchant, "shopify").error == (
        "platform_credentials_rejected: Shopify refused the access token (401)"
    )
    assert run_of(summary, merchant, "woocommerce").error == (
        "platform_credentials_rejected: WooCommerce refused the API keys (401)"
    )
    assert external_ids(merchant) == {}


def test_paging_follows_every_page_even_while_the_shop_changes_orders(
    depot_id: str,
    shops: dict[str, ShopifyAdminFake],
    woo_shops: list[WooCommerceFake],
    moment: Callable[[int], datetime],
) -> None:
    merchant = a_merchant(depot_id, "Many pages")
    shop = connect_shopify(
        shops, merchant, *(shopify_order(900 + n, moment(n)) for n in range(1, 6))
    )
    woo_orders = [woo_order(1000 + n, moment(n)) for n in range(1, 6)]
    woo_orders += [woo_order(1000 + n, moment(6)) for n in range(6, 9)]  # three in one second
    woo = connect_woocommerce(woo_shops, merchant, *woo_orders)

    def cancel_one_already_read(count: int) -> None:
        # After the first page the shop cancels an order on it: it moves to the end of the
        # list, and numbered pages would now start one order late and skip one.
        if count == 1:
            changed = moment(7).replace(tzinfo=None).isoformat()
            woo.put({**woo_orders[0], "status": "cancelled", "date_modified_gmt": changed})

    woo.after_request = cancel_one_already_read
    summary = reconcile(small_pages(shops, 2)).run()

    assert run_of(summary, merchant, "shopify").pages == 3
    assert [set(r.query) for r in shop.requests[1:]] == [{"limit", "page_info"}] * 2
    assert external_ids(merchant) == {str(n): 1 for n in [*range(901, 906), *range(1001, 1009)]}
    [cancelled] = bootstrap.orders().find(merchant, "1001")
    assert cancelled.status is OrderStatus.CANCELLED
    assert cursors().get(merchant.merchant_id, "shopify") == moment(5)
    assert cursors().get(merchant.merchant_id, "woocommerce") == moment(7)


def test_the_cursor_store_never_moves_backwards() -> None:
    store, later = cursors(), datetime(2026, 11, 21, 12, 0, 0, 250000, tzinfo=UTC)
    assert store.advance("mer_cursor", "shopify", later) is True
    assert store.advance("mer_cursor", "shopify", later - timedelta(milliseconds=1)) is False
    assert store.advance("mer_cursor", "shopify", later) is False
    assert store.get("mer_cursor", "shopify") == later


def test_the_scheduled_entry_point_is_composed_from_bootstrap() -> None:
    built = bootstrap.reconcile()
    assert isinstance(built, ReconcileService)
    assert bootstrap.reconcile() is built, "built once per container"


def test_the_rotation_is_kept_in_the_table_between_runs() -> None:
    bootstrap.store()
    rotation = ReconcileRotation()
    rotation.moved_to("mer_0042")
    assert ReconcileRotation().after() == "mer_0042", "a later run (a new container) reads it"
    rotation.moved_to("mer_0007")  # the turn wrapped round: it may go back
    assert ReconcileRotation().after() == "mer_0007"
