"""The platform key behind pickup codes (one secret in Secrets Manager, three uses derived from
it): the pepper of their stored hashes, the key of a code among its locker's live codes, and the
seal on the one copy that travels in the outbox to notify/ so the customer can be sent it. A
sealed code is AES-GCM under a derived key: the outbox table and its stream never hold a code in
the clear."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Any

from chalicelib.domain.lockers import Locker, LockerParcel, code_hash, code_key
from chalicelib.store.orders import Message

SEAL_PREFIX = "v1."


class CodeKeyMissing(RuntimeError):
    """The pickup-code key is not configured in Secrets Manager."""


class SealBroken(ValueError):
    """A sealed code that does not open under this key (tampered, or another stage's)."""


class PickupCodeKeys:
    def __init__(self, key: Callable[[], str | None]) -> None:
        self._key = key

    def _derived(self, purpose: str) -> bytes:
        key = self._key()
        if not key:
            raise CodeKeyMissing("the pickup code key is not configured in Secrets Manager")
        return hmac.new(key.encode(), purpose.encode(), hashlib.sha256).digest()

    def hash(self, salt: str, locker_id: str, code: str) -> str:
        return code_hash(self._derived("pickup-code-hash"), salt, locker_id, code)

    def key(self, locker_id: str, code: str) -> str:
        """The code's key among the locker's live codes (the same digits, the same key)."""
        return code_key(self._derived("pickup-code-key"), locker_id, code)

    def matches(self, salt: str, locker_id: str, code: str, stored: str) -> bool:
        return hmac.compare_digest(self.hash(salt, locker_id, code), stored)

    def seal(self, code: str, order_id: str) -> str:
        """The code sealed to its order (it opens only as that order's code)."""
        # cryptography's Rust extension costs the API's cold start; only sealing needs it.
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = secrets.token_bytes(12)
        box = AESGCM(self._derived("pickup-code-seal")).encrypt(
            nonce, code.encode(), order_id.encode()
        )
        return SEAL_PREFIX + base64.urlsafe_b64encode(nonce + box).decode()

    def open(self, sealed: str, order_id: str) -> str:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if not sealed.startswith(SEAL_PREFIX):
            raise SealBroken("not a sealed pickup code")
        box = self._derived("pickup-code-seal")
        try:
            raw = base64.urlsafe_b64decode(sealed.removeprefix(SEAL_PREFIX).encode())
            plain = AESGCM(box).decrypt(raw[:12], raw[12:], order_id.encode())
        except (InvalidTag, ValueError) as exc:  # binascii.Error is a ValueError
            raise SealBroken("the sealed pickup code does not open") from exc
        return plain.decode()


def code_message(
    keys: PickupCodeKeys,
    locker: Locker,
    parcel: LockerParcel,
    code: str,
    rotated: str | None = None,
) -> Message:
    """The outbox message sending a parcel's new pickup code, sealed to its order (`rotated`:
    "resend" or "extend" when it replaces an earlier one)."""
    extra: dict[str, Any] = {
        "locker": locker.public(),
        "pickup_by": parcel.pickup_by,
        "pickup_code_sealed": keys.seal(code, parcel.order_id),
    }
    if rotated:
        extra["rotated"] = rotated
    return ("order.in_locker", extra)
