"""What an AWS SDK error says: the one place that reads a botocore ClientError's code."""

from __future__ import annotations

from botocore.exceptions import ClientError


def error_code(exc: ClientError) -> str:
    """The service's error code (e.g. `ResourceNotFoundException`, `NoSuchKey`)."""
    return str(exc.response.get("Error", {}).get("Code", ""))
