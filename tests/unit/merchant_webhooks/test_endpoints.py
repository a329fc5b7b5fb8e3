"""Which endpoint URLs and event types a merchant may register."""

from __future__ import annotations

import pytest

from chalicelib.domain.errors import ValidationFailed
from chalicelib.merchant_webhooks.endpoints import check_types, check_url, new_secret
from chalicelib.merchant_webhooks.events import EVENT_TYPES


@pytest.mark.parametrize(
    "url",
    [
        "https://shop.example/hooks",
        "https://hooks.shop.example:8443/lastmile?x=1",
        "https://8.8.8.8/",
    ],
)
def test_public_https_urls_are_accepted(url: str) -> None:
    assert check_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://shop.example/hooks",  # not https
        "ftp://shop.example/",
        "https://user:pw@shop.example/",  # credentials in the URL
        "https://10.0.0.5/hooks",  # private
        "https://169.254.169.254/latest",  # link-local (instance metadata)
        "https://127.0.0.1/hooks",  # loopback without the flag
        "http://localhost:8000/hooks",
        "https:///nohost",
        "https://shop.example:99999/",
        "",
        "https://shop.example/" + "a" * 2100,
    ],
)
def test_other_urls_are_refused_with_the_field_named(url: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_url(url)
    assert refused.value.field == "url"


@pytest.mark.parametrize("url", ["http://127.0.0.1:8123/h", "http://localhost:8000/h"])
def test_loopback_http_only_with_the_flag(url: str) -> None:
    assert check_url(url, allow_loopback=True) == url
    with pytest.raises(ValidationFailed):
        check_url(url)


def test_loopback_flag_does_not_open_private_networks() -> None:
    with pytest.raises(ValidationFailed):
        check_url("http://10.0.0.5/hooks", allow_loopback=True)


def test_types_default_to_all_and_unknown_ones_are_named() -> None:
    assert check_types(None) == EVENT_TYPES
    assert check_types(["order.failed", "order.confirmed"]) == ("order.confirmed", "order.failed")
    with pytest.raises(ValidationFailed, match=r"order\.shipped"):
        check_types(["order.shipped"])
    with pytest.raises(ValidationFailed):
        check_types([])


def test_secrets_are_fresh_standard_webhooks_secrets() -> None:
    first, second = new_secret(), new_secret()
    assert first.startswith("whsec_") and first != second and len(first) > 40
