"""Several consumers of one outbox message in the notify function: customer notifications and
merchant webhooks, neither held back by the other's failure."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger

logger = Logger(child=True)

Handler = Callable[[dict[str, Any]], Any]


def each(*handlers: Handler) -> Handler:
    """One handler for `notify.consumer.consume` that gives the message to every handler in
    turn, even after one raised, then raises the first error so the record goes back to the
    stream. Every handler must be idempotent per message (both are: claims and conditional
    puts), since a retried record comes to all of them again."""

    def handle(message: dict[str, Any]) -> None:
        first: Exception | None = None
        for handler in handlers:
            try:
                handler(message)
            except Exception as exc:  # raised below, once every handler has had the message
                if first is None:
                    first = exc
                else:
                    logger.exception("outbox handler failed too", handler=repr(handler))
        if first is not None:
            raise first

    return handle
