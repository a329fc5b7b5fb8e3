"""Email and SMS the local runtime captured instead of sending, for `GET /local/outbox`."""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_messages: list[dict[str, Any]] = []


def record(message: dict[str, Any]) -> None:
    """Keep one message a local fake vendor was asked to deliver."""
    with _lock:
        _messages.append(dict(message))


def captured_messages() -> list[dict[str, Any]]:
    with _lock:
        return [dict(m) for m in _messages]
