"""One page of a DynamoDB query: at most `limit` items from where the last page stopped, and the
key to go on from (DynamoDB's LastEvaluatedKey). A tenant's list is always a query of its own
index partition, never a scan; the API seals the key into an opaque cursor (list_cursors.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pynamodb.models import Model
from pynamodb.pagination import ResultIterator

Key = dict[str, dict[str, Any]]  # a LastEvaluatedKey: attribute name -> DynamoDB value

# A filtered list (orders by status) may evaluate many items to find a few: a page stops after
# this many requests and says where to go on, short or even empty, rather than read on and on.
MAX_REQUESTS_PER_PAGE = 8


@dataclass(frozen=True)
class Page[T]:
    items: list[T]
    last_key: Key | None  # None: there is nothing after these


def read_page[M: Model](
    model: type[M],
    query: Callable[..., ResultIterator[M]],
    *,
    limit: int,
    start: Key | None,
) -> Page[M]:
    """The next page of `query` (a model's or index's `query` with its keys and conditions
    bound; it is given `last_evaluated_key` and `page_size`). Each request asks DynamoDB to
    evaluate no more than the items still missing, so a page never overshoots `limit` and the
    key it ends on is exactly past its last item, however a filter thins the results."""
    items: list[M] = []
    key = start
    for _ in range(MAX_REQUESTS_PER_PAGE):
        results = query(last_evaluated_key=key, page_size=limit - len(items))
        page = next(results.page_iter)
        items += [model.from_raw_data(raw) for raw in page.get("Items", [])]
        key = results.page_iter.last_evaluated_key
        if key is None or len(items) >= limit:
            break
    return Page(items, key)
