"""Single-item reads shared by the repositories: consistent, and typed by the model asked for."""

from __future__ import annotations

from chalicelib.store.models.base import MainItem


def get_one[M: MainItem](model: type[M], pk: str, sk: str) -> M | None:
    """One item, read consistently; None when it is not there (or is another type)."""
    try:
        item = model.get(pk, sk, consistent_read=True)
    except model.DoesNotExist:
        return None
    return item if isinstance(item, model) else None
