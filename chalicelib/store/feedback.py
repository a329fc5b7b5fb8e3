"""Customers' feedback in the main table: one item per order beside the order, written once."""

from __future__ import annotations

from collections.abc import Callable

from chalicelib.store.models.base import MainItem
from chalicelib.store.models.tracking import FeedbackItem
from chalicelib.store.reads import get_one
from chalicelib.store.transaction import Transaction
from chalicelib.tracking.feedback import Feedback, FeedbackAlreadyGiven


def feedback_key(order_id: str) -> tuple[str, str]:
    return f"ORDER#{order_id}", "FEEDBACK"


# What else a rating writes, in its transaction: (tx, order id, rating, at) (analytics' fact).
Rated = Callable[[Transaction, str, int, str], None]


class FeedbackStore:
    """One feedback item per order beside the order, written once (a conditional put)."""

    def __init__(self, rated: Rated | None = None) -> None:
        self._rated = rated

    def add(self, order_id: str, feedback: Feedback) -> None:
        """Store it; FeedbackAlreadyGiven if this order has feedback already."""
        tx = Transaction()
        tx.put(
            FeedbackItem(
                *feedback_key(order_id),
                rating=feedback.rating,
                at=feedback.at,
                comment=feedback.comment or None,
            ),
            condition=MainItem.pk.does_not_exist(),
            on_fail=FeedbackAlreadyGiven("feedback for this parcel was already received"),
        )
        if self._rated is not None:
            self._rated(tx, order_id, feedback.rating, feedback.at)
        tx.commit()

    def get(self, order_id: str) -> Feedback | None:
        item = get_one(FeedbackItem, *feedback_key(order_id))
        return Feedback(int(item.rating), item.comment, item.at) if item else None
