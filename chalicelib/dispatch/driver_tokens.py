"""Drivers' route tokens: an HMAC of the route id under a key kept in Secrets Manager, so no
token is ever stored, any can be shown again to the operator, and checking one is constant-time."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable

from chalicelib.domain.errors import AuthenticationFailed


class DriverTokens:
    def __init__(self, key: Callable[[], str | None]) -> None:
        self._key = key

    def _secret(self) -> bytes:
        key = self._key()
        if not key:
            raise RuntimeError("the driver token key is not configured in Secrets Manager")
        return key.encode()

    def token(self, route_id: str) -> str:
        digest = hmac.new(self._secret(), route_id.encode(), hashlib.sha256).digest()
        return "drv_" + base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def check(self, route_id: str, token: str | None) -> None:
        """Raise AuthenticationFailed unless `token` is the route's driver token."""
        # Bytes: compare_digest refuses non-ASCII str, and a token is whatever a caller sent.
        if not token or not hmac.compare_digest(self.token(route_id).encode(), token.encode()):
            raise AuthenticationFailed("a valid driver token for this route is required")
