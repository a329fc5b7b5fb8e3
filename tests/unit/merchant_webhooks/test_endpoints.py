"""Which endpoint URLs and event types a merchant may register."""

from __future__ import annotations

import pytest

from chalicelib.domain.errors import ValidationFailed
from chalicelib.merchant_webhooks.addresses import ResolutionFailed
from chalicelib.merchant_webhooks.endpoints import check_types, check_url, new_secret
from chalicelib.merchant_webhooks.events import EVENT_TYPES


class TableResolver:
    """DNS as a table: a name not in it does not resolve."""

    def __init__(self, names: dict[str, list[str]]) -> None:
        self.names = names
        self.asked: list[str] = []

    def resolve(self, host: str, port: int, timeout_s: float) -> list[str]:
        self.asked.append(host)
        if host not in self.names:
            raise ResolutionFailed(f"{host} does not resolve")
        return self.names[host]


DNS = TableResolver(
    {
        "shop.example": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
        "hooks.shop.example": ["93.184.215.15"],
        "internal.shop.example": ["10.0.0.1"],
        "mixed.shop.example": ["93.184.215.14", "10.0.0.1"],
        "metadata.shop.example": ["169.254.169.254"],
        "v6-loopback.shop.example": ["::1"],
        "mapped.shop.example": ["::ffff:127.0.0.1"],
    }
)


@pytest.mark.parametrize(
    "url",
    [
        "https://shop.example/hooks",
        "https://hooks.shop.example:8443/lastmile?x=1",
        "https://8.8.8.8/",
        "https://[2606:4700:4700::1111]/hooks",
        "https://SHOP.example/hooks",
        "https://not-yet-in-dns.example/hooks",  # checked again at each delivery
    ],
)
def test_public_https_urls_are_accepted(url: str) -> None:
    assert check_url(url, resolver=DNS) == url


@pytest.mark.parametrize(
    "url",
    [
        # loopback, in every spelling the resolver reads as an address
        "https://127.0.0.1/hooks",
        "https://127.1/",
        "https://2130706433/",
        "https://0x7f000001/",
        "https://0x7f.1/",
        "https://0177.0.0.1/",
        "https://017700000001/",
        "https://127.0.0.1./",
        "https://0x7f000001./",
        "https://localhost/",
        "https://localhost./",
        "https://LOCALHOST/",
        "https://api.localhost/",
        "https://[::1]/",
        "https://[0:0:0:0:0:0:0:1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://[::ffff:7f00:1]/",
        "https://[::127.0.0.1]/",  # IPv4-compatible (deprecated), still loopback behind
        "https://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
        "https://[64:ff9b::a00:1]/",  # NAT64 of 10.0.0.1
        # unspecified, private, shared, link-local, multicast, reserved, broadcast
        "https://0.0.0.0/",
        "https://0/",
        "https://[::]/",
        "https://10.0.0.5/hooks",
        "https://10.1/",
        "https://172.16.0.1/",
        "https://192.168.1.1/",
        "https://100.64.0.1/",
        "https://169.254.169.254/latest",  # the instance metadata
        "https://[fe80::1]/",
        "https://[fe80::1%25eth0]/",
        "https://[fd00::1]/",
        "https://224.0.0.1/",
        "https://[ff02::1]/",
        "https://240.0.0.1/",
        "https://255.255.255.255/",
        "https://198.18.0.1/",
        # names whose addresses are not public: any one of them is enough
        "https://internal.shop.example/",
        "https://mixed.shop.example/",
        "https://metadata.shop.example/",
        "https://v6-loopback.shop.example/",
        "https://mapped.shop.example/",
        # not https, credentials, ports, malformed
        "http://shop.example/hooks",
        "ftp://shop.example/",
        "https://user:pw@shop.example/",
        "https://user@shop.example/",
        "https://@shop.example/",
        "https://shop.example\\@10.0.0.1/",
        "https://shop.example:22/",
        "https://shop.example:0/",
        "https://shop.example:99999/",
        "https:///nohost",
        "https://shop_example!/",
        "",
        "https://shop.example/" + "a" * 2100,
    ],
)
def test_other_urls_are_refused_with_the_field_named(url: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_url(url, resolver=DNS)
    assert refused.value.field == "url"
    with pytest.raises(ValidationFailed):  # nor does the local stage let any of them through
        check_url(url, allow_local_http=True, resolver=DNS)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8123/h",
        "http://localhost:8000/h",
        "http://[::1]:8000/h",
        "http://127.1:8000/",
    ],
)
def test_plain_http_to_this_machine_only_on_the_local_stage(url: str) -> None:
    assert check_url(url, allow_local_http=True, resolver=DNS) == url
    with pytest.raises(ValidationFailed):
        check_url(url, resolver=DNS)


@pytest.mark.parametrize(
    "url",
    ["http://10.0.0.5/hooks", "http://internal.shop.example/", "http://shop.example/hooks"],
)
def test_the_local_stage_opens_no_other_plain_http(url: str) -> None:
    with pytest.raises(ValidationFailed):
        check_url(url, allow_local_http=True, resolver=DNS)


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
