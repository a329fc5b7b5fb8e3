"""What every list shares: `?limit=` (1-200, default 50) and `?cursor=` in, and the
`next_cursor` of `{items, next_cursor}` out (api/replies.py), sealed to the list, its owner and
its filters."""

from __future__ import annotations

from typing import Protocol

from chalice.app import Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chalicelib import bootstrap
from chalicelib.list_cursors import MAX_CURSOR_CHARS, scope_of
from chalicelib.request_bodies import validation_failed
from chalicelib.store.paging import Key, Page

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class ListQuery(BaseModel):
    """A list's query string; lists with filters extend it (unknown parameters are refused)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="items per page")
    cursor: str | None = Field(
        default=None,
        max_length=MAX_CURSOR_CHARS,
        description="the `next_cursor` of the page before, as it came",
    )

    def filters(self) -> dict[str, str | int | None]:
        """The filters a cursor is bound to (every field but the paging ones)."""
        return {
            k: None if v is None else str(v)
            for k, v in self.model_dump().items()
            if k not in ("limit", "cursor")
        }


def list_query[Q: ListQuery](request: Request, model: type[Q]) -> Q:
    """The query string as `model`; 422 naming the parameter at fault."""
    try:
        return model.model_validate(dict(request.query_params or {}))
    except ValidationError as exc:
        raise validation_failed(exc) from exc


class PageReader[T](Protocol):
    def __call__(self, *, limit: int, start: Key | None) -> Page[T]: ...


def asked_page[T](
    query: ListQuery, list_name: str, owner: str, fetch: PageReader[T]
) -> tuple[list[T], str | None]:
    """The asked page of `owner`'s list (`fetch` reads it from where it starts; 400 `invalid_cursor`
    for a cursor not of this list, owner and filters), and the cursor of the page after it
    (None after the last)."""
    scope = scope_of(list_name, owner, **query.filters())
    cursors = bootstrap.list_cursors()
    page = fetch(limit=query.limit, start=cursors.open(scope, query.cursor))
    return page.items, cursors.seal(scope, page.last_key)
