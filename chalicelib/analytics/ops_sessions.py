"""The operators' dashboard sessions: an HMAC-signed token (expiry and a random id) keyed by
the operator key's hash, never the key itself. Nothing is stored: changing the operator key
ends every session; a token past its expiry, or signed with another key, opens nothing.
Form tokens (CSRF) are signed the same way, bound to their purpose and, once signed in, to
the session."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable

SESSION_SECONDS = 8 * 3600  # a working day; then the operator signs in again
FORM_SECONDS = 3600  # a sign-in form is good for an hour


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class OpsSessions:
    def __init__(self, admin_key_sha256: str, clock: Callable[[], float] = time.time) -> None:
        # Derived, so the session key is no hash an attacker could compare with anything else.
        self._key = hmac.new(
            admin_key_sha256.encode(), b"lastmile ops sessions v1", hashlib.sha256
        ).digest()
        self._clock = clock
        self._configured = bool(admin_key_sha256)

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())

    def _token(self, kind: str, seconds: int, bound: str = "") -> str:
        expires = int(self._clock()) + seconds
        payload = f"{kind}.{expires}.{secrets.token_urlsafe(18)}"
        return f"{payload}.{self._sign(payload + '|' + bound)}"

    def _valid(self, token: str | None, kind: str, bound: str = "") -> bool:
        if not self._configured or not token or token.count(".") != 3:
            return False
        payload, _, signature = token.rpartition(".")
        found_kind, expires, _ = payload.split(".")
        if not hmac.compare_digest(signature, self._sign(payload + "|" + bound)):
            return False
        return found_kind == kind and expires.isdigit() and int(expires) > self._clock()

    def issue(self) -> str:
        """A new session token (the cookie's value)."""
        return self._token("s", SESSION_SECONDS)

    def valid(self, session: str | None) -> bool:
        return self._valid(session, "s")

    def form_token(self, session: str | None = None) -> str:
        """A form's CSRF token: the sign-in form's (no session yet), or one bound to `session`."""
        return self._token("f", FORM_SECONDS if session is None else SESSION_SECONDS, session or "")

    def form_valid(self, token: str | None, session: str | None = None) -> bool:
        return self._valid(token, "f", session or "")
