"""Connection credentials: checked before they are stored, and refused before any request when
they could send a token somewhere it does not belong."""

from __future__ import annotations

import pytest

from chalicelib.domain.errors import ValidationFailed
from chalicelib.reconcile.connections import check_connection, platform_clients
from chalicelib.reconcile.ports import PlatformCredentialsRejected, PlatformRequestRejected
from chalicelib.reconcile.shopify_client import ShopifyOrders
from chalicelib.reconcile.woocommerce_client import WooCommerceOrders

WOO = {"url": "https://shop.example", "consumer_key": "ck_1", "consumer_secret": "cs_1"}


def test_good_credentials_are_kept_trimmed() -> None:
    assert check_connection(
        "shopify", {"shop": "demo.myshopify.com", "access_token": " shpat_1 ", "extra": "x"}
    ) == {"shop": "demo.myshopify.com", "access_token": "shpat_1"}
    assert check_connection("woocommerce", WOO) == WOO


@pytest.mark.parametrize(
    ("platform", "credentials", "field"),
    [
        ("shopify", {"shop": "demo.myshopify.com"}, "access_token"),
        ("shopify", {"shop": "169.254.169.254", "access_token": "t"}, "shop"),
        ("shopify", {"shop": "evil.example/x?.myshopify.com", "access_token": "t"}, "shop"),
        ("woocommerce", {**WOO, "url": "http://shop.example"}, "url"),
        ("woocommerce", {**WOO, "consumer_secret": ""}, "consumer_secret"),
        ("magento", WOO, "platform"),
    ],
)
def test_bad_credentials_say_what_is_wrong(
    platform: str, credentials: dict[str, str], field: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_connection(platform, credentials)
    assert caught.value.field == field


def test_the_factory_builds_each_platforms_client() -> None:
    build = platform_clients()
    assert isinstance(
        build("shopify", {"shop": "demo.myshopify.com", "access_token": "t"}), ShopifyOrders
    )
    assert isinstance(build("woocommerce", WOO), WooCommerceOrders)


def test_the_factory_refuses_what_would_leak_a_token_or_cannot_work() -> None:
    build = platform_clients()
    with pytest.raises(PlatformCredentialsRejected, match="myshopify"):
        build("shopify", {"shop": "127.0.0.1:8080", "access_token": "t"})
    with pytest.raises(PlatformCredentialsRejected, match="https"):
        build("woocommerce", {**WOO, "url": "http://shop.example"})
    with pytest.raises(PlatformCredentialsRejected, match="consumer_secret"):
        build("woocommerce", {"url": "https://shop.example", "consumer_key": "ck"})
    with pytest.raises(PlatformRequestRejected):
        build("magento", WOO)
