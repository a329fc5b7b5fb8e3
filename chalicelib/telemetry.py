"""Powertools on every Lambda function of the app: each invocation's logs carry its Lambda
context and cold start, it is traced, and its metrics are flushed once, at its end."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from chalice.app import Request

logger = Logger(service="lastmile")
metrics = Metrics(namespace="lastmile", service="lastmile")
tracer = Tracer(service="lastmile")

# Most invocations record no metric of their own (a scheduled run with nothing due): that is
# not worth a warning on every one of them in the logs.
warnings.filterwarnings("ignore", message="No application metrics to publish")


def lambda_context(event: Any) -> Any | None:
    """The Lambda context of a Chalice event object: a request's `.lambda_context`, any other
    event's `.context`; None when the handler was called without one (a test, a script)."""
    return event.lambda_context if isinstance(event, Request) else event.context


def observe_invocation(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Chalice middleware for every kind of function ("all"): the rest of the chain, under
    Powertools' own handler decorators. Chalice hands middleware one event object whatever the
    function's signature, so the decorators get the original event and the context from it."""
    context = lambda_context(event)
    original = event.to_original_event() if isinstance(event, Request) else event.to_dict()

    def invocation(_event: Any, _context: Any) -> Any:
        return get_response(event)

    # The trace's subsegment is named after the function ("## lastmile-dev-notify").
    invocation.__name__ = getattr(context, "function_name", "") or type(event).__name__
    # Powertools prints the cold-start metric even where metrics are switched off (the local
    # stage, whose stdout is a CLI's output): ask for it only where metrics are published.
    cold_start = context is not None and not is_metrics_disabled()
    handler = metrics.log_metrics(invocation, capture_cold_start_metric=cold_start)
    # Replies carry customers' data, which traces do not keep.
    handler = tracer.capture_lambda_handler(handler, capture_response=False)
    if context is not None:  # without a context there is none to put on the log lines
        handler = logger.inject_lambda_context(handler, clear_state=True)
    return handler(original, context)
