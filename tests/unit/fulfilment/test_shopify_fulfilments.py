"""The Shopify adapter's sorting of answers: retryable (429, 5xx, no answer) or refused (4xx)."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from chalicelib.fulfilment.ports import ReportRejected, ReportUnavailable, TrackingInfo
from chalicelib.fulfilment.shopify import ShopifyFulfilments, shopify_reporters

TRACKING = TrackingInfo(number="LM123", url="https://t.example/track/LM123")


class Answers(requests.Session):
    """A session answering `status` to every request (or raising `error`)."""

    def __init__(self, status: int = 200, error: Exception | None = None) -> None:
        super().__init__()
        self.status, self.error = status, error

    def request(self, method: str | bytes, url: str | bytes, *a: Any, **kw: Any) -> Any:
        if self.error:
            raise self.error
        response = requests.Response()
        response.status_code = self.status
        response._content = b'{"errors": "nope"}'
        return response


@pytest.mark.parametrize("status", [429, 500, 503])
def test_throttling_and_server_errors_are_worth_retrying(status: int) -> None:
    adapter = ShopifyFulfilments(Answers(status), "https://x.myshopify.com", "shpat")
    with pytest.raises(ReportUnavailable, match=str(status)):
        adapter.report("1001", TRACKING)


def test_no_answer_is_worth_retrying() -> None:
    adapter = ShopifyFulfilments(
        Answers(error=requests.ConnectionError()), "https://x.myshopify.com", "t"
    )
    with pytest.raises(ReportUnavailable, match="ConnectionError"):
        adapter.report("1001", TRACKING)


@pytest.mark.parametrize("status", [401, 403, 404, 422])
def test_client_errors_are_refusals_with_the_answer(status: int) -> None:
    adapter = ShopifyFulfilments(Answers(status), "https://x.myshopify.com", "shpat")
    with pytest.raises(ReportRejected) as refused:
        adapter.report("1001", TRACKING)
    assert (refused.value.status, refused.value.answer) == (status, '{"errors": "nope"}')


def test_a_connection_to_another_host_than_a_shop_is_refused() -> None:
    build = shopify_reporters(Answers())
    with pytest.raises(ReportRejected, match="myshopify"):
        build({"shop": "evil.example.com", "access_token": "shpat"})
