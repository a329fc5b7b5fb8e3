"""The outbox's two queues as every stage declares them (the CDK app and the local runtime):
parked work waiting for its next attempt, and what is still failing after its last."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QueueSpec:
    logical_id: str  # in the CDK app
    env_var: str  # holds its URL, for the functions
    local_name: str  # in the local runtime's moto
    visibility_timeout_s: int
    retention_s: int


# Longer than the notify_retries function's timeout (.chalice/config.json), as Lambda requires
# of a queue it reads, so a message is not given out again while one attempt still runs.
RETRY_QUEUE = QueueSpec(
    "NotifyRetryQueue", "LASTMILE_NOTIFY_RETRY_QUEUE_URL", "lastmile-notify-retries", 600, 4 * 86400
)
# Both the stream mapping's failures (batch metadata) and parked work past its last attempt;
# kept as long as SQS keeps anything, for `lastmile ops redrive`.
DEAD_LETTER_QUEUE = QueueSpec(
    "NotifyDeadLetterQueue",
    "LASTMILE_NOTIFY_DLQ_URL",
    "lastmile-notify-dead-letters",
    120,
    14 * 86400,
)
# Receives of one retry-queue message that failed to reach its next step (the consumer crashed
# or timed out) before SQS moves it to the dead-letter queue as it is.
MAX_RECEIVES = 5
