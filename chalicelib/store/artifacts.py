"""Dispatch artifacts in S3: a run's claimed orders, its problems and plans, by key. The state
machine passes keys, never the documents (its payloads stop at 256 KB)."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.aws_errors import error_code
from chalicelib.domain.errors import NotFound


class ArtifactMissing(NotFound):
    code = "artifact_missing"


class Artifacts:
    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def put_json(self, key: str, document: Any) -> str:
        self._client.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=json.dumps(document, separators=(",", ":")).encode(),
            ContentType="application/json",
        )
        return key

    def get_json(self, key: str) -> Any:
        try:
            body = self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if error_code(exc) in ("NoSuchKey", "404"):
                raise ArtifactMissing(f"no artifact {key}") from exc
            raise
        return json.loads(body)


def orders_key(run_id: str) -> str:
    return f"runs/{run_id}/orders.json"


def retrievals_key(run_id: str) -> str:
    """The expired locker parcels a run claimed to take back."""
    return f"runs/{run_id}/retrievals.json"


def problem_key(run_id: str, part: int) -> str:
    return f"runs/{run_id}/problem-{part:03d}.json"


def plan_key(run_id: str, part: int) -> str:
    return f"runs/{run_id}/plan-{part:03d}.json"
