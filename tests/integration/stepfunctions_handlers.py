"""Handlers for the isolated-process tests of chalicelib.local.stepfunctions: importable by
path from a spawned child, and light to import."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

# The test sets this in its own process: a forked child would inherit True, a spawned one not.
PARENT_STATE = False


class BoomError(Exception):
    pass


def whoami(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "parent_state": PARENT_STATE,
        "endpoint": os.environ.get("AWS_ENDPOINT_URL"),
        "event": event,
    }


def boom(event: dict[str, Any], context: Any) -> None:
    raise BoomError(f"isolated {event['n']}")


def hang(event: dict[str, Any], context: Any) -> None:
    Path(event["pidfile"]).write_text(str(os.getpid()))
    time.sleep(60)  # until killed with its pool when the timeout recycles it
