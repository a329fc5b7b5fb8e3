"""Fulfilment reporting against moto and the local Shopify fake, through the real adapter: an
out-for-delivery Shopify order is fulfilled once in its shop with our tracking number and page,
whatever is redelivered; Shopify's outages are retried, its refusals are not."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import bootstrap
from chalicelib.accounts.service import NewDepot, NewMerchant
from chalicelib.domain.order import Order
from chalicelib.domain.tenancy import Merchant
from chalicelib.fulfilment.claims import ClaimHeld
from chalicelib.fulfilment.ports import ReportUnavailable
from chalicelib.fulfilment.service import FulfilmentService
from chalicelib.fulfilment.shopify import shopify_reporters
from chalicelib.intake.canonical import CanonicalOrder
from chalicelib.local.platform_fakes import ShopifyAdminFake
from chalicelib.orders.service import Action, Inbound
from chalicelib.store.fulfilment_claims import FulfilmentClaims
from chalicelib.store.models.fulfilment import FulfilmentClaimItem
from tests.builders import an_order

pytestmark = pytest.mark.usefixtures("aws")

BASE = "https://track.lastmile.example"
_ids = itertools.count(1)


@pytest.fixture(scope="module")
def merchant() -> Merchant:
    accounts = bootstrap.accounts()
    depot = accounts.create_depot(
        NewDepot(name="Fulfilment", lat=51.5, lng=-0.12, timezone="Europe/London")
    )
    created, _ = accounts.create_merchant(NewMerchant(name="Shopify shop", depot_id=depot.depot_id))
    return created


@pytest.fixture
def shop(merchant: Merchant) -> Iterator[ShopifyAdminFake]:
    fake = ShopifyAdminFake(access_token=f"shpat_{merchant.merchant_id}").start()
    bootstrap.accounts().connect(
        merchant.merchant_id,
        "shopify",
        {"shop": "fulfil-test.myshopify.com", "access_token": fake.access_token},
    )
    yield fake
    fake.stop()


def claims() -> FulfilmentClaims:
    bootstrap.store()
    return FulfilmentClaims()


def service(shop: ShopifyAdminFake) -> FulfilmentService:
    return FulfilmentService(
        bootstrap.order_repository(),
        bootstrap.accounts(),
        claims(),
        shopify_reporters(base_url=lambda _: shop.endpoint),
        BASE,
    )


def place(merchant: Merchant, source: str, shop: ShopifyAdminFake | None = None) -> Order:
    shopify_id = 5_000_000_000 + time.time_ns() % 1_000_000_000 + next(_ids)
    draft = CanonicalOrder.model_validate(an_order(external_id=str(shopify_id))).to_draft()
    result = bootstrap.orders().ingest(
        merchant, Inbound(source, Action.UPSERT, draft.external_id, draft)
    )
    assert result.order is not None and result.order.source == source
    if shop is not None:
        shop.put({"id": shopify_id, "line_items": [{"quantity": 2}]})
    return result.order


def out_for_delivery(order: Order, message_type: str = "order.out_for_delivery") -> dict[str, Any]:
    return {
        "pk": f"ORDER#{order.order_id}",
        "sk": f"2026-11-21T09:00:00.000Z#{message_type}#abcd1234",
        "type": message_type,
        "order_id": order.order_id,
        "merchant_id": order.merchant_id,
        "status": "out_for_delivery",
    }


def posts(shop: ShopifyAdminFake) -> list[str]:
    return [r.path for r in shop.requests if r.method == "POST"]


def test_an_out_for_delivery_shopify_order_is_fulfilled_with_our_tracking(
    merchant: Merchant, shop: ShopifyAdminFake
) -> None:
    order = place(merchant, "shopify", shop)

    assert service(shop).handle(out_for_delivery(order)) == "reported"

    [sent] = shop.fulfillments
    assert sent == {
        "fulfillment": {
            "line_items_by_fulfillment_order": [
                {"fulfillment_order_id": int(order.external_id) * 10 + 1}
            ],
            "tracking_info": {
                "number": order.tracking_code,
                "url": f"{BASE}/track/{order.tracking_code}",
                "company": "lastmile",
            },
            "notify_customer": False,
        }
    }
    assert shop.fulfillment_orders[order.external_id][0]["status"] == "closed"
    assert shop.requests[0].path.endswith(f"/orders/{order.external_id}/fulfillment_orders.json")
    assert shop.requests[0].headers["x-shopify-access-token"] == shop.access_token
    stored = claims().get(order.order_id, "shopify")
    assert stored is not None
    assert (stored.state, stored.fulfilment_id) == ("reported", "9001")


def test_the_same_message_twice_posts_one_fulfillment(
    merchant: Merchant, shop: ShopifyAdminFake
) -> None:
    order = place(merchant, "shopify", shop)
    handler = service(shop)

    assert handler.handle(out_for_delivery(order)) == "reported"
    assert handler.handle(out_for_delivery(order)) == "duplicate"

    assert len(shop.fulfillments) == 1
    assert len(posts(shop)) == 1
    assert len(shop.requests) == 2, "the duplicate does not even ask Shopify"


def test_a_shopify_outage_raises_and_the_redelivered_message_posts_once(
    merchant: Merchant, shop: ShopifyAdminFake
) -> None:
    order = place(merchant, "shopify", shop)
    handler = service(shop)

    shop.fail(503, after=1)  # the fulfillment orders are read, the POST fails
    with pytest.raises(ReportUnavailable, match="503"):
        handler.handle(out_for_delivery(order))
    assert claims().get(order.order_id, "shopify") is None, "the claim is released"
    assert shop.fulfillments == []

    shop.fail(None)
    assert handler.handle(out_for_delivery(order)) == "reported"
    assert handler.handle(out_for_delivery(order)) == "duplicate"

    assert len(shop.fulfillments) == 1
    stored = claims().get(order.order_id, "shopify")
    assert stored is not None and stored.state == "reported"


def test_a_refusal_is_recorded_failed_and_not_retried(
    merchant: Merchant, shop: ShopifyAdminFake
) -> None:
    order = place(merchant, "shopify", shop)
    handler = service(shop)

    shop.fail(422, after=1)
    assert handler.handle(out_for_delivery(order)) == "failed"
    shop.fail(None)
    requests_before = len(shop.requests)
    assert handler.handle(out_for_delivery(order)) == "duplicate"

    assert len(shop.requests) == requests_before, "not tried again"
    assert shop.fulfillments == []
    stored = claims().get(order.order_id, "shopify")
    assert stored is not None
    assert (stored.state, stored.http_status) == ("failed", 422)
    assert stored.answer is not None and "unavailable" in stored.answer


def test_an_order_already_fulfilled_in_the_shop_is_recorded_failed_without_a_post(
    merchant: Merchant, shop: ShopifyAdminFake
) -> None:
    order = place(merchant, "shopify", shop)
    shop.fulfillment_orders[order.external_id][0]["status"] = "closed"

    assert service(shop).handle(out_for_delivery(order)) == "failed"

    assert posts(shop) == []
    stored = claims().get(order.order_id, "shopify")
    assert stored is not None
    assert (stored.state, stored.reason) == ("failed", "no open fulfillment orders")


def test_other_orders_and_other_messages_are_ignored(
    merchant: Merchant, shop: ShopifyAdminFake
) -> None:
    api_order = place(merchant, "api")
    shopify_order = place(merchant, "shopify", shop)
    handler = service(shop)

    assert handler.handle(out_for_delivery(api_order)) is None
    assert handler.handle(out_for_delivery(shopify_order, "order.delivered")) is None
    assert handler.handle(out_for_delivery(shopify_order, "order.planned")) is None

    assert shop.requests == []
    assert claims().get(api_order.order_id, "shopify") is None
    assert claims().get(shopify_order.order_id, "shopify") is None


def test_a_shopify_order_of_a_merchant_without_a_connection_is_ignored(
    shop: ShopifyAdminFake,
) -> None:
    accounts = bootstrap.accounts()
    depot = accounts.create_depot(
        NewDepot(name="Webhooks only", lat=51.5, lng=-0.12, timezone="Europe/London")
    )
    unconnected, _ = accounts.create_merchant(NewMerchant(name="No API", depot_id=depot.depot_id))
    order = place(unconnected, "shopify", shop)

    assert service(shop).handle(out_for_delivery(order)) is None

    assert shop.requests == []
    assert claims().get(order.order_id, "shopify") is None


def test_a_claim_left_by_a_dead_attempt_is_retried_after_its_lease(
    merchant: Merchant, shop: ShopifyAdminFake
) -> None:
    order = place(merchant, "shopify", shop)
    handler = service(shop)
    bootstrap.store()

    def crashed(lease_until: int) -> None:
        FulfilmentClaimItem(
            f"ORDER#{order.order_id}",
            "FULFILMENT#shopify",
            state="claimed",
            order_id=order.order_id,
            merchant_id=order.merchant_id,
            platform="shopify",
            claimed_at="2026-11-21T09:00:00.000Z",
            lease_until=lease_until,
        ).save()

    crashed(int(time.time()) + 200)  # an attempt holds it (or died a moment ago)
    with pytest.raises(ClaimHeld):
        handler.handle(out_for_delivery(order))
    assert shop.fulfillments == []

    crashed(int(time.time()) - 1)  # its lease is over: the attempt died
    assert handler.handle(out_for_delivery(order)) == "reported"
    assert len(shop.fulfillments) == 1
