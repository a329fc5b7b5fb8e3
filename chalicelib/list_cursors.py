"""The `cursor` of every list: where DynamoDB stopped (its LastEvaluatedKey), sealed with an HMAC
over the list it belongs to (which list, whose, which filters). A cursor cannot be forged or
edited to start a query at another tenant's keys, nor carried to another list: it opens only
for the list that made it, and anything else is a 400 `invalid_cursor`."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

from chalicelib.domain.errors import InvalidCursor

PREFIX = "c1."
MAX_CURSOR_CHARS = 2048  # a key of ours is far shorter; longer is no cursor of ours
_PURPOSE = b"list-cursor"  # the platform key is shared: this use gets its own derived key
_TYPES = {"S", "N", "B"}  # what a key attribute can be in DynamoDB


class CursorKeyMissing(RuntimeError):
    """The platform key cursors are sealed with is not configured in Secrets Manager."""


class ListCursors:
    def __init__(self, key: Callable[[], str | None]) -> None:
        self._key = key

    def _mac(self, scope: str, payload: str) -> str:
        key = self._key()
        if not key:
            raise CursorKeyMissing("the platform key for list cursors is not configured")
        derived = hmac.new(key.encode(), _PURPOSE, hashlib.sha256).digest()
        digest = hmac.new(derived, f"{scope}\n{payload}".encode(), hashlib.sha256).digest()
        return _b64(digest)

    def seal(self, scope: str, last_key: dict[str, Any] | None) -> str | None:
        """The cursor of the page after this one (None when there is none)."""
        if last_key is None:
            return None
        payload = _b64(json.dumps(last_key, sort_keys=True, separators=(",", ":")).encode())
        return f"{PREFIX}{payload}.{self._mac(scope, payload)}"

    def open(self, scope: str, cursor: str | None) -> dict[str, Any] | None:
        """The key a cursor of `scope` stands for; InvalidCursor if it is not one."""
        if cursor is None:
            return None
        refused = InvalidCursor(
            "cursor: not a cursor of this list (pass next_cursor back as it came)", field="cursor"
        )
        if len(cursor) > MAX_CURSOR_CHARS or not cursor.startswith(PREFIX):
            raise refused
        payload, dot, mac = cursor.removeprefix(PREFIX).partition(".")
        if not dot or not cursor.isascii():
            raise refused
        if not hmac.compare_digest(self._mac(scope, payload).encode(), mac.encode()):
            raise refused
        try:
            key = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except (binascii.Error, ValueError) as exc:
            raise refused from exc
        if not _is_key(key):
            raise refused
        return key


def _is_key(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and bool(value)
        and all(
            isinstance(name, str)
            and isinstance(typed, dict)
            and len(typed) == 1
            and set(typed) <= _TYPES
            and all(isinstance(v, str) for v in typed.values())
            for name, typed in value.items()
        )
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def scope_of(list_name: str, owner: str, **filters: str | int | None) -> str:
    """What a cursor is bound to: the list, whose it is, and the filters it was asked with."""
    given = {name: value for name, value in sorted(filters.items()) if value is not None}
    return json.dumps([list_name, owner, given], separators=(",", ":"))
