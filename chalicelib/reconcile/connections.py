"""Platform API connections: the credentials a merchant gives for catch-up, checked, and the
client built from them.

Stored by `AccountService.connect(merchant_id, platform, credentials)`, exactly these keys:
  shopify:     {"shop": "<name>.myshopify.com", "access_token": "shpat_..."}
               (a custom app's Admin API token with the read_orders scope; reporting
               fulfilments back also needs write_merchant_managed_fulfillment_orders)
  woocommerce: {"url": "https://shop.example", "consumer_key": "ck_...",
                "consumer_secret": "cs_..."}  (a REST API key with Read permission)"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import requests
from woocommerce import API

from chalicelib.domain.errors import ValidationFailed
from chalicelib.reconcile.ports import (
    ClientsFactory,
    PlatformCredentialsRejected,
    PlatformOrders,
    PlatformRequestRejected,
)
from chalicelib.reconcile.shopify_client import ShopifyOrders
from chalicelib.reconcile.woocommerce_client import WooCommerceOrders

KEYS = {
    "shopify": ("shop", "access_token"),
    "woocommerce": ("url", "consumer_key", "consumer_secret"),
}
SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
MAX_CREDENTIAL = 2048  # far past any real token; Secrets Manager holds 64 KB a secret
WOOCOMMERCE_TIMEOUT = 20  # seconds; the client's default of 5 is short for a busy shared host


def check_connection(platform: str, credentials: Any) -> dict[str, str]:
    """The credentials to store, or ValidationFailed saying what is wrong (for the admin API)."""
    if platform not in KEYS:
        raise ValidationFailed(f"platform must be one of {', '.join(KEYS)}", field="platform")
    if not isinstance(credentials, dict):
        raise ValidationFailed("credentials must be an object")
    checked: dict[str, str] = {}
    for key in KEYS[platform]:
        value = credentials.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ValidationFailed(f"{key}: required", field=key)
        if len(value) > MAX_CREDENTIAL:
            raise ValidationFailed(f"{key}: at most {MAX_CREDENTIAL} characters", field=key)
        checked[key] = value.strip()
    if platform == "shopify" and not SHOP_DOMAIN.match(checked["shop"]):
        raise ValidationFailed("shop: must be <name>.myshopify.com", field="shop")
    if platform == "woocommerce" and not checked["url"].startswith("https://"):
        # Order data is customers' names and addresses: never over plain HTTP.
        raise ValidationFailed("url: must start with https://", field="url")
    return checked


def shopify_base_url(shop: str) -> str:
    return f"https://{shop}"


def platform_clients(
    session: requests.Session | None = None,
    *,
    shopify_base_url: Callable[[str], str] = shopify_base_url,
    require_https: bool = True,
) -> ClientsFactory:
    """A factory of platform clients sharing one HTTP session (kept warm across merchants).

    Tests pass `shopify_base_url` to reach a local fake and `require_https=False` for a fake
    WooCommerce on plain HTTP (where the client signs with OAuth 1.0a instead of basic auth)."""
    shared = session or requests.Session()

    def build(platform: str, credentials: dict[str, Any]) -> PlatformOrders:
        if platform not in KEYS:
            raise PlatformRequestRejected(f"no catch-up client for platform {platform!r}")
        missing = [k for k in KEYS[platform] if not credentials.get(k)]
        if missing:
            raise PlatformCredentialsRejected(f"connection lacks {', '.join(missing)}")
        if platform == "shopify":
            if not SHOP_DOMAIN.match(credentials["shop"]):
                raise PlatformCredentialsRejected("shop is not a <name>.myshopify.com domain")
            return ShopifyOrders(
                shared, shopify_base_url(credentials["shop"]), credentials["access_token"]
            )
        if require_https and not str(credentials["url"]).startswith("https://"):
            raise PlatformCredentialsRejected("the store URL is not https")
        return WooCommerceOrders(
            API(
                url=credentials["url"],
                consumer_key=credentials["consumer_key"],
                consumer_secret=credentials["consumer_secret"],
                version="wc/v3",
                timeout=WOOCOMMERCE_TIMEOUT,
            )
        )

    return build
