"""Catch-up cursors in the main table: per merchant and platform, the newest platform change
time already applied (only ever moves forward, whatever runs overlap); and the rotation's
place among the merchants (one item: runs never overlap, the function's concurrency is 1)."""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.exceptions import PutError

from chalicelib.domain.times import utc_now
from chalicelib.store.models.reconcile import ReconcileCursorItem, ReconcileRotationItem
from chalicelib.store.reads import get_one
from chalicelib.store.transaction import condition_failed


def cursor_key(merchant_id: str, platform: str) -> tuple[str, str]:
    return f"RECONCILE#{merchant_id}#{platform}", "CURSOR"


def _stored(at: datetime) -> str:
    # One fixed width and zone, so that the condition's string comparison is time order.
    return at.astimezone(UTC).isoformat(timespec="microseconds")


class ReconcileCursors:
    def get(self, merchant_id: str, platform: str) -> datetime | None:
        item = get_one(ReconcileCursorItem, *cursor_key(merchant_id, platform))
        return datetime.fromisoformat(item.changed_to) if item else None

    def advance(self, merchant_id: str, platform: str, to: datetime) -> bool:
        """Move the cursor to `to` unless it is already there or beyond (an overlapping run got
        further); True when it moved."""
        stored = _stored(to)
        cursor = ReconcileCursorItem(
            *cursor_key(merchant_id, platform),
            merchant_id=merchant_id,
            platform=platform,
            changed_to=stored,
            written_at=utc_now(),
        )
        try:
            cursor.save(
                condition=ReconcileCursorItem.pk.does_not_exist()
                | (ReconcileCursorItem.changed_to < stored)
            )
        except PutError as exc:
            if condition_failed(exc):
                return False
            raise
        return True


ROTATION_KEY = ("RECONCILE#ROTATION", "CURSOR")


class ReconcileRotation:
    def after(self) -> str | None:
        item = get_one(ReconcileRotationItem, *ROTATION_KEY)
        return item.after_merchant_id if item else None

    def moved_to(self, merchant_id: str) -> None:
        ReconcileRotationItem(
            *ROTATION_KEY, after_merchant_id=merchant_id, written_at=utc_now()
        ).save()
