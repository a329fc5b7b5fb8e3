"""A merchant's orders read a page at a time from its own index partition: each once, newest
first, never more than the limit, however a status filter thins what DynamoDB evaluates."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib import bootstrap
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.order import receive
from chalicelib.intake.canonical import parse_order
from chalicelib.store.orders import OrderQuery
from tests.builders import an_order

pytestmark = pytest.mark.usefixtures("aws")


def _orders(merchant_id: str, count: int) -> list[str]:
    repo = bootstrap.order_repository()
    made = []
    for n in range(count):
        order, events = receive(
            parse_order(an_order(external_id=f"page-{n}")),
            merchant_id=merchant_id,
            depot_id="dep_1",
            source="api",
            at=f"2026-11-0{1 + n // 5}T10:00:{n:02d}.000Z",
        )
        if n % 3 == 0:
            order = replace(order, status=OrderStatus.CANCELLED)
        repo.create(order, events, messages=[])
        made.append(order.order_id)
    return made


def _all_pages(merchant_id: str, query: OrderQuery, limit: int) -> list[list[str]]:
    repo = bootstrap.order_repository()
    pages, start = [], None
    while True:
        page = repo.page_for_merchant(merchant_id, query, limit=limit, start=start)
        assert len(page.items) <= limit
        pages.append([o.order_id for o in page.items])
        if page.last_key is None:
            return pages
        start = page.last_key


def test_pages_cover_every_order_once_newest_first() -> None:
    made = _orders("mer_pages", 11)
    _orders("mer_neighbour", 3)
    pages = _all_pages("mer_pages", OrderQuery(), limit=4)
    assert [o for page in pages for o in page] == made[::-1]
    assert [len(p) for p in pages][:3] == [4, 4, 3]


def test_a_status_filter_pages_without_overshooting_or_skipping() -> None:
    made = _orders("mer_filtered", 11)
    cancelled = [o for n, o in enumerate(made) if n % 3 == 0]
    pages = _all_pages("mer_filtered", OrderQuery(status="cancelled"), limit=2)
    assert [o for page in pages for o in page] == cancelled[::-1]


def test_a_creation_window_is_the_index_key_range() -> None:
    made = _orders("mer_window", 11)
    window = OrderQuery(
        created_from="2026-11-02T00:00:00.000Z", created_to="2026-11-03T00:00:00.000Z"
    )
    pages = _all_pages("mer_window", window, limit=50)
    assert pages == [made[5:10][::-1]]
