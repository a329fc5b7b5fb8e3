"""What an AWS SDK error says: the one place that reads a botocore ClientError's code."""

from __future__ import annotations

from botocore.exceptions import ClientError


def error_code(exc: ClientError) -> str:
    """The service's error code (e.g. `ResourceNotFoundException`, `NoSuchKey`)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


# What AWS answers when a call is over its rate (DynamoDB's, a transaction's reason, the APIs').
THROTTLED = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "ThrottlingError",
    }
)


def throttled(exc: BaseException) -> bool:
    """Whether `exc`, or what caused it (PynamoDB wraps the SDK's error as its `cause`), is AWS
    refusing a call for its rate: retryable later, never a fault of the request."""
    seen: BaseException | None = exc
    for _ in range(5):  # a chain of causes, bounded
        if seen is None:
            return False
        if isinstance(seen, ClientError) and error_code(seen) in THROTTLED:
            return True
        if getattr(seen, "cause_response_code", None) in THROTTLED:
            return True
        reasons = getattr(seen, "cancellation_reasons", None) or []
        if any(getattr(r, "code", None) in THROTTLED for r in reasons if r is not None):
            return True
        seen = getattr(seen, "cause", None) or seen.__cause__
    return False
