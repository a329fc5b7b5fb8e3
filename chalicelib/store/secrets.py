"""Merchants' webhook signing secrets in AWS Secrets Manager (never in the table, never logged).

One secret per merchant, JSON: {"shopify": [{"secret": ..., "until": iso|None}], ...}. A rotated
secret stays valid until its `until`, so storefronts can switch over without a gap."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import ClientError

from chalicelib.aws_errors import error_code

ROTATION_GRACE = timedelta(hours=72)
CACHE_SECONDS = 60


class MerchantSecrets:
    def __init__(self, client: Any, prefix: str) -> None:
        self._client = client
        self._prefix = prefix
        self._provider = SecretsProvider(boto3_client=client)

    def _name(self, merchant_id: str) -> str:
        return f"{self._prefix}/merchants/{merchant_id}/webhooks"

    def _get(self, name: str, **options: Any) -> Any:
        """The secret's value, or None when there is no such secret."""
        try:
            return self._provider.get(name, max_age=CACHE_SECONDS, **options)
        except GetParameterError as exc:  # Powertools wraps the client's error
            cause = exc.__cause__ or exc
            if isinstance(cause, ClientError) and error_code(cause) == "ResourceNotFoundException":
                return None
            raise

    def _read(self, merchant_id: str, *, fresh: bool = False) -> dict[str, Any]:
        value = self._get(self._name(merchant_id), transform="json", force_fetch=fresh)
        return value if isinstance(value, dict) else {}

    def active(self, merchant_id: str, platform: str) -> list[str]:
        """The secrets a signature from `platform` may be made with right now."""
        now = datetime.now(UTC).isoformat()
        return [
            entry["secret"]
            for entry in self._read(merchant_id).get(platform, [])
            if entry.get("until") is None or entry["until"] > now
        ]

    def platform_secret(self, name: str) -> str | None:
        """A platform-wide secret (Stripe's webhook signing secret), cached like the rest."""
        value = self._get(name)
        return value if isinstance(value, str) and value else None

    def connection(self, merchant_id: str, platform: str) -> dict[str, Any] | None:
        """API credentials a merchant gave for pulling orders from its platform (catch-up)."""
        value = self._read(merchant_id).get(f"{platform}_api")
        return dict(value) if isinstance(value, dict) else None

    def set_connection(self, merchant_id: str, platform: str, credentials: dict[str, Any]) -> None:
        document: dict[str, Any] = self._read(merchant_id, fresh=True)
        document[f"{platform}_api"] = credentials
        self._client.put_secret_value(
            SecretId=self._name(merchant_id), SecretString=json.dumps(document)
        )
        self._provider.clear_cache()

    def create(self, merchant_id: str, secrets: dict[str, str]) -> None:
        document = {platform: [{"secret": s, "until": None}] for platform, s in secrets.items()}
        self._client.create_secret(Name=self._name(merchant_id), SecretString=json.dumps(document))

    def discard(self, merchant_id: str) -> None:
        """Remove the secrets of a merchant whose creation did not complete."""
        self._client.delete_secret(
            SecretId=self._name(merchant_id), ForceDeleteWithoutRecovery=True
        )

    def rotate(self, merchant_id: str, platform: str, secret: str) -> None:
        """Make `secret` current; the previous one stays valid for ROTATION_GRACE."""
        document = self._read(merchant_id, fresh=True)
        until = (datetime.now(UTC) + ROTATION_GRACE).isoformat()
        previous = [
            {"secret": e["secret"], "until": e.get("until") or until}
            for e in document.get(platform, [])
            if e["secret"] != secret
        ]
        document[platform] = [{"secret": secret, "until": None}, *previous[:1]]
        self._client.put_secret_value(
            SecretId=self._name(merchant_id), SecretString=json.dumps(document)
        )
        self._provider.clear_cache()
