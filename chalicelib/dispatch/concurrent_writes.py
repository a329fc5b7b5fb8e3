"""Per-order writes of one dispatch step side by side (DynamoDB takes them so), on a few threads."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

WRITERS = 16  # concurrent per-order writes in a task (the SDK's pool holds 50 connections)


def in_parallel[T, R](work: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """`work` over `items` on a few threads (one conditional write each), results in the
    items' order; the first failure is raised."""
    if len(items) <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(WRITERS, len(items))) as pool:
        return list(pool.map(work, items))
