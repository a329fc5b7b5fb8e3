"""Reconcile cursors per merchant and platform."""

from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute

from chalicelib.store.models.base import MainItem


class ReconcileCursorItem(MainItem, discriminator="reconcile_cursor"):
    """pk RECONCILE#<merchant>#<platform>, sk CURSOR. `changed_to` is UTC ISO 8601 with
    microseconds, one fixed width, so that comparing the strings compares the times."""

    merchant_id = UnicodeAttribute()
    platform = UnicodeAttribute()
    changed_to = UnicodeAttribute()
    written_at = UnicodeAttribute()


class ReconcileRotationItem(MainItem, discriminator="reconcile_rotation"):
    """pk RECONCILE#ROTATION, sk CURSOR: the merchant the last catch-up run visited last."""

    after_merchant_id = UnicodeAttribute()
    written_at = UnicodeAttribute()
