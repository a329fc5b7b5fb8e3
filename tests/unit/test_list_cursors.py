"""A list's cursor opens only for the list, owner and filters that sealed it."""

from __future__ import annotations

import base64
import json

import pytest

from chalicelib.domain.errors import InvalidCursor
from chalicelib.list_cursors import CursorKeyMissing, ListCursors, scope_of

KEY = {"gsi3pk": {"S": "MERCHANT#mer_a"}, "gsi3sk": {"S": "2026-12-01T10:00:00.000Z#ord_1"}}
MINE = scope_of("orders", "mer_a", status=None)


def cursors(key: str | None = "platform-key") -> ListCursors:
    return ListCursors(lambda: key)


def test_a_sealed_key_opens_again_for_its_own_list() -> None:
    cursor = cursors().seal(MINE, KEY)
    assert cursor is not None and cursor.startswith("c1.")
    assert cursors().open(MINE, cursor) == KEY
    assert cursors().seal(MINE, None) is None, "no key: the last page has no cursor"
    assert cursors().open(MINE, None) is None


@pytest.mark.parametrize(
    "scope",
    [
        scope_of("orders", "mer_b"),
        scope_of("orders", "mer_a", status="ready"),
        scope_of("webhook-endpoints", "mer_a"),
    ],
    ids=["another owner", "other filters", "another list"],
)
def test_a_cursor_opens_for_no_other_scope(scope: str) -> None:
    with pytest.raises(InvalidCursor):
        cursors().open(scope, str(cursors().seal(MINE, KEY)))


def test_an_edited_or_foreign_cursor_is_refused() -> None:
    cursor = str(cursors().seal(MINE, KEY))
    _, payload, mac = cursor.split(".")
    edited = dict(KEY, gsi3pk={"S": "MERCHANT#mer_b"})
    forged = base64.urlsafe_b64encode(json.dumps(edited).encode()).decode().rstrip("=")
    for bad in (
        f"c1.{forged}.{mac}",
        f"c1.{payload}.{mac[:-1]}x",
        f"c1.{payload}",
        "c1." + "A" * 3000,
        "é" + cursor,
        str(cursors("another stage's key").seal(MINE, KEY)),
    ):
        with pytest.raises(InvalidCursor) as refused:
            cursors().open(MINE, bad)
        assert refused.value.field == "cursor"


def test_a_well_sealed_payload_that_is_no_key_is_refused() -> None:
    sealer = cursors()
    not_a_key = sealer._mac(MINE, "bm90LWpzb24")  # "not-json", sealed by the right key
    with pytest.raises(InvalidCursor):
        sealer.open(MINE, f"c1.bm90LWpzb24.{not_a_key}")


def test_without_the_platform_key_nothing_is_sealed() -> None:
    with pytest.raises(CursorKeyMissing):
        cursors(None).seal(MINE, KEY)
