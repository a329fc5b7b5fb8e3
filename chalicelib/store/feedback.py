"""Customers' feedback in the main table: one item per order beside the order, written once."""

from __future__ import annotations

from chalicelib.store.models.base import MainItem
from chalicelib.store.models.tracking import FeedbackItem
from chalicelib.store.reads import get_one
from chalicelib.store.transaction import failing_as
from chalicelib.tracking.feedback import Feedback, FeedbackAlreadyGiven


def feedback_key(order_id: str) -> tuple[str, str]:
    return f"ORDER#{order_id}", "FEEDBACK"


class FeedbackStore:
    """One feedback item per order beside the order, written once (a conditional put)."""

    def add(self, order_id: str, feedback: Feedback) -> None:
        """Store it; FeedbackAlreadyGiven if this order has feedback already."""
        with failing_as(FeedbackAlreadyGiven("feedback for this parcel was already received")):
            FeedbackItem(
                *feedback_key(order_id),
                rating=feedback.rating,
                at=feedback.at,
                comment=feedback.comment or None,
            ).save(condition=MainItem.pk.does_not_exist())

    def get(self, order_id: str) -> Feedback | None:
        item = get_one(FeedbackItem, *feedback_key(order_id))
        return Feedback(int(item.rating), item.comment, item.at) if item else None
