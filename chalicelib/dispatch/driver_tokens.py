"""Drivers' route tokens: an HMAC of the route id and the token's expiry under a key kept in
Secrets Manager, so no token is ever stored, any can be shown again to the operator, checking
one is constant-time and needs no read, and none outlives its route's day."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from datetime import timedelta

from chalicelib.domain.dispatch import PlannedRoute
from chalicelib.domain.errors import AuthenticationFailed, TokenExpired
from chalicelib.domain.times import parse_iso

PREFIX = "drv_"
# A token lives until the route's planned end plus this (a late day, the drive back, the last
# locker deposits), and never longer than a day after the route starts.
GRACE = timedelta(hours=6)
MAX_LIFETIME = timedelta(hours=24)
_MAX_EXPIRY_DIGITS = 11  # epoch seconds up to year 5138: a longer number is no token of ours


def expiry_of(route: PlannedRoute) -> int:
    """When the route's driver token stops opening it (epoch seconds): derived from what the
    run committed (start and planned duration), so the operator is shown the same token again."""
    start = parse_iso(route.start_at)
    end = start + timedelta(seconds=float(route.duration_s)) + GRACE
    return int(min(end, start + MAX_LIFETIME).timestamp())


class DriverTokens:
    def __init__(self, key: Callable[[], str | None], clock: Callable[[], float] = time.time):
        self._key = key
        self._clock = clock

    def _secret(self) -> bytes:
        key = self._key()
        if not key:
            raise RuntimeError("the driver token key is not configured in Secrets Manager")
        return key.encode()

    def _mac(self, route_id: str, expires: int) -> str:
        message = f"{route_id}\n{expires}".encode()
        digest = hmac.new(self._secret(), message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def token(self, route_id: str, expires: int) -> str:
        """The token opening `route_id` until `expires` (epoch seconds)."""
        return f"{PREFIX}{expires}.{self._mac(route_id, expires)}"

    def token_for(self, route: PlannedRoute) -> str:
        """The route's driver token, valid until its day is over (`expiry_of`)."""
        return self.token(route.route_id, expiry_of(route))

    def check(self, route_id: str, token: str | None) -> None:
        """Raise AuthenticationFailed unless `token` is the route's driver token and has not
        expired (TokenExpired, a 401 too, when it was the route's but its day is over)."""
        refused = AuthenticationFailed("a valid driver token for this route is required")
        if not token or not token.startswith(PREFIX):
            raise refused
        expires_text, dot, _ = token.removeprefix(PREFIX).partition(".")
        if not dot or not expires_text.isascii() or not expires_text.isdigit():
            raise refused
        if len(expires_text) > _MAX_EXPIRY_DIGITS:
            raise refused
        expires = int(expires_text)
        # Bytes: compare_digest refuses non-ASCII str, and a token is whatever a caller sent.
        expected = self.token(route_id, expires).encode()
        if not hmac.compare_digest(expected, token.encode()):
            raise refused
        if self._clock() >= expires:
            raise TokenExpired("this route's driver token has expired; ask the depot for today's")
