"""Each webhook endpoint's signing secret in AWS Secrets Manager, under
`<prefix>/merchants/<merchant_id>/endpoints/<endpoint_id>` (never in the table, never logged)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from botocore.exceptions import ClientError

from chalicelib.aws_errors import error_code

CACHE_SECONDS = 300  # a secret never changes for the endpoint's life


class EndpointSecrets:
    def __init__(self, client: Any, prefix: str) -> None:
        self._client = client
        self._prefix = prefix
        self._provider = SecretsProvider(boto3_client=client)

    def name(self, merchant_id: str, endpoint_id: str) -> str:
        return f"{self._prefix}/merchants/{merchant_id}/endpoints/{endpoint_id}"

    def create(self, merchant_id: str, endpoint_id: str, secret: str) -> None:
        self._client.create_secret(Name=self.name(merchant_id, endpoint_id), SecretString=secret)

    def get(self, merchant_id: str, endpoint_id: str) -> str:
        """The secret (GetParameterError if it is missing: the endpoint is half-made)."""
        value = self._provider.get(self.name(merchant_id, endpoint_id), max_age=CACHE_SECONDS)
        return str(value)

    def delete(self, merchant_id: str, endpoint_id: str) -> None:
        try:
            self._client.delete_secret(
                SecretId=self.name(merchant_id, endpoint_id), ForceDeleteWithoutRecovery=True
            )
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
        self._provider.clear_cache()
