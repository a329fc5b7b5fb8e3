"""The webhook endpoints' and deliveries' store against moto in process: the per-merchant
limit, the failure record, deliveries created once and held by the token of their lease."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.merchant_webhooks.deliveries import Delivery, DeliveryState
from chalicelib.merchant_webhooks.endpoints import Endpoint, EndpointLimitReached, EndpointNotFound
from chalicelib.store.merchant_webhooks import EndpointRepository, WebhookDeliveryLog

NOW = datetime(2025, 5, 14, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)


@pytest.fixture(autouse=True)
def _tables(models_in_process: Callable[[str], Any]) -> None:
    models_in_process("hooks-main")


def an_endpoint(endpoint_id: str = "ep_1") -> Endpoint:
    return Endpoint(
        endpoint_id=endpoint_id,
        merchant_id="mer_1",
        url="https://shop.example/hooks",
        types=("order.confirmed", "order.delivered"),
        created_at=NOW.isoformat(),
    )


def a_delivery(message_sk: str = "2025-05-14T09:00:00.000Z#order.confirmed#abcd") -> Delivery:
    return Delivery(
        endpoint_id="ep_1",
        merchant_id="mer_1",
        order_id="ord_1",
        message_sk=message_sk,
        message_type="order.confirmed",
        msg_id="msg_1",
        body='{"type": "order.confirmed"}',
    )


def test_an_endpoint_is_stored_listed_and_removed() -> None:
    repo = EndpointRepository()
    repo.add(an_endpoint(), limit=2)

    assert repo.list("mer_1") == [an_endpoint()]
    assert repo.get("mer_1", "ep_1") == an_endpoint()
    repo.remove("mer_1", "ep_1")
    assert repo.list("mer_1") == [] and repo.get("mer_1", "ep_1") is None
    with pytest.raises(EndpointNotFound):
        repo.remove("mer_1", "ep_1")


def test_the_limit_holds_and_a_removal_frees_a_place() -> None:
    repo = EndpointRepository()
    repo.add(an_endpoint("ep_1"), limit=2)
    repo.add(an_endpoint("ep_2"), limit=2)

    with pytest.raises(EndpointLimitReached):
        repo.add(an_endpoint("ep_3"), limit=2)
    repo.remove("mer_1", "ep_1")
    repo.add(an_endpoint("ep_3"), limit=2)
    assert sorted(e.endpoint_id for e in repo.list("mer_1")) == ["ep_2", "ep_3"]


def test_the_failure_record_keeps_the_first_failure_and_counts_abandoned_in_a_row() -> None:
    repo = EndpointRepository()
    repo.add(an_endpoint(), limit=10)

    assert repo.failed("mer_1", "ep_1", "2025-05-14T09:00:00.000Z") == "2025-05-14T09:00:00.000Z"
    assert repo.failed("mer_1", "ep_1", "2025-05-14T10:00:00.000Z") == "2025-05-14T09:00:00.000Z"
    assert [repo.abandoned("mer_1", "ep_1") for _ in range(2)] == [1, 2]
    assert repo.disable("mer_1", "ep_1", "2025-05-14T11:00:00.000Z", "failing") is True
    assert repo.disable("mer_1", "ep_1", "2025-05-14T12:00:00.000Z", "again") is False

    enabled = repo.enable("mer_1", "ep_1")
    assert (enabled.enabled, enabled.healthy) == (True, True)
    assert repo.get("mer_1", "ep_1") == an_endpoint()


def test_the_failure_record_of_a_deleted_endpoint_brings_nothing_back() -> None:
    repo = EndpointRepository()

    assert repo.failed("mer_1", "gone", "2025-05-14T09:00:00.000Z") is None
    assert repo.abandoned("mer_1", "gone") is None
    assert repo.disable("mer_1", "gone", "2025-05-14T09:00:00.000Z", "failing") is False
    repo.succeeded("mer_1", "gone")
    with pytest.raises(EndpointNotFound):
        repo.enable("mer_1", "gone")
    assert repo.get("mer_1", "gone") is None


def test_a_message_is_given_to_an_endpoint_once() -> None:
    log = WebhookDeliveryLog("WEBHOOK#due-unit")

    assert log.create(a_delivery(), NOW, NOW) is not None
    assert log.create(a_delivery(), NOW, NOW) is None
    [stored] = log.for_endpoint("ep_1")
    assert (stored.state, stored.next_attempt_at) == (
        DeliveryState.PENDING,
        "2025-05-14T09:00:00.000Z",
    )


def test_a_due_delivery_is_held_by_the_latest_token_only() -> None:
    log = WebhookDeliveryLog("WEBHOOK#due-unit")
    created = log.create(a_delivery(), NOW, NOW)
    assert log.due("ep_1", NOW - timedelta(seconds=1), 10)[0] == []

    [due] = log.due("ep_1", NOW, 10)[0]
    assert due.due == created
    token = log.claim(due, NOW + LEASE)
    assert token is not None and token != created
    assert log.claim(due, NOW + LEASE) is None  # seen before the other claim: not ours
    assert log.finish(due, str(created), state=DeliveryState.DELIVERED) is False
    assert log.due("ep_1", NOW + timedelta(seconds=1), 10)[0] == []  # leased until NOW + LEASE

    assert log.finish(due, token, state=DeliveryState.DELIVERED, attempts=1, last_status=200)
    [done] = log.for_endpoint("ep_1")
    assert (done.state, done.attempts, done.last_status) == (DeliveryState.DELIVERED, 1, 200)
    assert done.due is None and done.next_attempt_at is None  # out of the due index
    assert log.due("ep_1", NOW + timedelta(days=1), 10)[0] == []


def test_a_failed_attempt_is_due_again_at_its_retry_time() -> None:
    log = WebhookDeliveryLog("WEBHOOK#due-unit")
    token = log.create(a_delivery(), NOW, NOW)
    [due] = log.due("ep_1", NOW, 10)[0]
    retry_at = NOW + timedelta(minutes=5)

    assert log.finish(due, str(token), state=DeliveryState.PENDING, retry_at=retry_at, attempts=1)

    assert log.due("ep_1", retry_at - timedelta(seconds=1), 10)[0] == []
    [again] = log.due("ep_1", retry_at, 10)[0]
    assert (again.attempts, again.next_attempt_at) == (1, "2025-05-14T09:05:00.000Z")


def test_each_queue_sees_only_its_own_deliveries_and_endpoints() -> None:
    WebhookDeliveryLog("WEBHOOK#due-other").create(a_delivery(), NOW, NOW)

    mine = WebhookDeliveryLog("WEBHOOK#due-unit")
    assert mine.due("ep_1", NOW, 10) == ([], None) and mine.active() == []


def a_delivery_of(endpoint_id: str, n: int) -> Delivery:
    return replace(
        a_delivery(f"2025-05-14T09:00:{n:02d}.000Z#order.confirmed#abcd"), endpoint_id=endpoint_id
    )


def test_deliveries_are_queued_per_endpoint_and_paged() -> None:
    log = WebhookDeliveryLog("WEBHOOK#due-unit")
    for n in range(5):
        log.create(a_delivery_of("ep_a", n), NOW, NOW)
    log.create(a_delivery_of("ep_b", 0), NOW, NOW)

    assert sorted(q.endpoint_id for q in log.active()) == ["ep_a", "ep_b"]
    first, cursor = log.due("ep_a", NOW, 3)
    assert len(first) == 3 and cursor is not None
    rest, end = log.due("ep_a", NOW, 3, cursor)
    assert len(rest) == 2 and end is None
    assert {d.message_sk for d in first + rest} == {
        a_delivery_of("ep_a", n).message_sk for n in range(5)
    }
    [only_b] = log.due("ep_b", NOW, 10)[0]
    assert only_b.endpoint_id == "ep_b"


def test_an_endpoint_leaves_the_queue_only_when_nothing_is_pending_and_its_touch_is_old() -> None:
    log = WebhookDeliveryLog("WEBHOOK#due-unit")
    token = log.create(a_delivery(), NOW, NOW)
    [queued] = log.active()
    assert queued.touched_at == "2025-05-14T09:00:00.000Z"

    later = NOW + timedelta(hours=1)
    assert log.settle(queued, later) is False  # a delivery is pending
    [due] = log.due("ep_1", NOW, 10)[0]
    assert log.finish(due, str(token), state=DeliveryState.DELIVERED)
    assert log.settle(queued, NOW + timedelta(minutes=1)) is False  # touched too lately
    assert log.settle(queued, later) is True
    assert log.active() == []


def test_a_touch_after_the_read_keeps_the_endpoint_queued() -> None:
    log = WebhookDeliveryLog("WEBHOOK#due-unit")
    first = log.create(a_delivery(), NOW, NOW)
    [due] = log.due("ep_1", NOW, 10)[0]
    log.finish(due, str(first), state=DeliveryState.DELIVERED)
    [seen] = log.active()  # the run reads the marker; then another delivery touches it
    later = NOW + timedelta(hours=1)
    second = log.create(a_delivery("2025-05-14T10:00:00.000Z#order.planned#abcd"), later, later)
    [due] = log.due("ep_1", later, 10)[0]
    log.finish(due, str(second), state=DeliveryState.DELIVERED)

    # Nothing is pending now, but the removal is conditional on the touch the run read: had
    # the second delivery still been pending and not yet in the index, it is kept.
    assert log.settle(seen, later + timedelta(hours=1)) is False
    [fresh] = log.active()
    assert log.settle(fresh, later + timedelta(hours=1)) is True
