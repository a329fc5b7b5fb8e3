"""Values an order holds never break a later request (moto over HTTP): times stored before intake
validated them, and ids the store's keys cannot hold."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib import bootstrap
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.order import receive
from chalicelib.domain.tenancy import Merchant
from chalicelib.intake.canonical import parse_order
from chalicelib.orders.service import Action, Inbound, OrderService, Outcome
from chalicelib.store.models.base import MainItem
from tests.builders import an_order

pytestmark = pytest.mark.usefixtures("aws")

SHOP = Merchant(merchant_id="mer_values", name="Values", depot_id="dep_1", created_at="now")


def service() -> OrderService:
    return OrderService(bootstrap.order_repository())


def stored_before_validation(external_id: str, source_updated_at: str) -> None:
    """An order as an earlier version of intake could store it, with any time text at all."""
    order, events = receive(
        parse_order(an_order(external_id=external_id)),
        merchant_id=SHOP.merchant_id,
        depot_id=SHOP.depot_id,
        source="shopify",
        source_updated_at=source_updated_at,
    )
    bootstrap.order_repository().create(order, events, messages=[])


def update(external_id: str, updated_at: str, line1: str) -> Inbound:
    draft = parse_order(an_order(external_id=external_id))
    draft = replace(draft, address=replace(draft.address, line1=line1))
    return Inbound("shopify", Action.UPSERT, external_id, draft, None, updated_at)


def item_count() -> int:
    return sum(1 for _ in MainItem.scan(consistent_read=True))


def test_a_stored_time_that_cannot_be_read_gives_way_to_a_new_one() -> None:
    stored_before_validation("legacy-garbage", "garbage")
    result = service().ingest(
        SHOP, update("legacy-garbage", "2026-11-20T10:00:00.000Z", "1 New St")
    )
    assert result.outcome is Outcome.UPDATED
    [order] = service().find(SHOP, "legacy-garbage")
    assert (order.address.line1, order.source_updated_at) == (
        "1 New St",
        "2026-11-20T10:00:00.000Z",
    )


def test_a_stored_naive_time_is_read_as_utc() -> None:
    stored_before_validation("legacy-naive", "2026-11-20T10:00:00")
    older = service().ingest(SHOP, update("legacy-naive", "2026-11-20T09:59:59.000Z", "Old Rd"))
    newer = service().ingest(SHOP, update("legacy-naive", "2026-11-20T10:00:01.000Z", "New Rd"))
    assert (older.outcome, newer.outcome) == (Outcome.STALE, Outcome.UPDATED)


@pytest.mark.parametrize(
    ("external_id", "event_id", "updated_at", "field"),
    [
        ("\U0001f4e6" * 64, None, None, "external_id"),
        ("ok-id", "\u00e9" * 257, None, "event_id"),
        ("ok-id", None, "garbage", "updated_at"),
    ],
)
def test_an_inbound_the_store_cannot_hold_is_refused_before_anything_is_read_or_written(
    external_id: str, event_id: str | None, updated_at: str | None, field: str
) -> None:
    draft = parse_order(an_order())
    inbound = Inbound("api", Action.UPSERT, external_id, draft, event_id, updated_at)
    before = item_count()
    with pytest.raises(ValidationFailed) as caught:
        service().ingest(SHOP, inbound)
    assert caught.value.field == field
    assert item_count() == before


def test_asking_for_an_external_id_no_order_can_have_finds_none() -> None:
    assert service().find(SHOP, "\U0001f4e6" * 300) == []
