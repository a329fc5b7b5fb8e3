"""Carrier statuses move our order only forwards: stale, duplicate or post-ending statuses are
no-ops, skipped steps are passed through, a cancel before collection goes back to our pool."""

from __future__ import annotations

import pytest

from chalicelib.carriers.progress import (
    CARRIER_CANCELLED,
    DELIVERED,
    FAILED,
    OUT,
    STATUSES,
    Applied,
    applies,
    apply,
)


@pytest.mark.parametrize(
    ("current", "new"),
    [
        ("pickup", "pickup"),  # a duplicate
        ("pickup_complete", "pickup"),  # older
        ("dropoff", "pending"),
        ("delivered", "delivered"),
        ("delivered", "canceled"),  # after an ending
        ("canceled", "delivered"),
        ("pending", "teleported"),  # not a status
    ],
)
def test_a_stale_or_duplicate_status_changes_nothing(current: str, new: str) -> None:
    assert not applies(current, new)
    assert apply(current, new) is None


def test_every_status_applies_to_a_fresh_delivery() -> None:
    assert all(applies(None, status) for status in STATUSES)


def test_collection_sends_the_order_out_once() -> None:
    assert apply("pickup", "pickup_complete") == Applied("pickup_complete", (OUT,))
    assert apply("pickup_complete", "dropoff") == Applied("dropoff", ())


def test_a_delivered_that_overtakes_the_collection_passes_through_out_for_delivery() -> None:
    assert apply("pending", "delivered") == Applied("delivered", (OUT, DELIVERED))
    assert apply("dropoff", "delivered") == Applied("delivered", (DELIVERED,))


def test_a_cancel_before_collection_goes_back_to_our_pool() -> None:
    for current in (None, "pending", "pickup"):
        assert apply(current, "canceled") == Applied("canceled", (), back_to_pool=CARRIER_CANCELLED)


def test_a_delivery_that_ends_undelivered_after_collection_is_a_failed_attempt() -> None:
    back = CARRIER_CANCELLED
    assert apply("dropoff", "returned") == Applied("returned", (FAILED,), back_to_pool=back)
    assert apply("pickup_complete", "canceled") == Applied("canceled", (FAILED,), back_to_pool=back)
    assert apply("pickup", "returned") == Applied("returned", (OUT, FAILED), back_to_pool=back)
