"""Signature checks shared by platforms that sign alike (Shopify, WooCommerce)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable

from chalicelib.domain.errors import SignatureInvalid


def verify_base64_hmac(
    raw_body: bytes, signature: str | None, secrets: Iterable[str], *, header: str
) -> None:
    """Accept the body only if `signature` is the base64 HMAC-SHA256 of it under one of the
    merchant's secrets (Shopify and WooCommerce sign alike)."""
    if not signature:
        raise SignatureInvalid(f"missing {header}")
    given = signature.strip().encode()
    matched = False
    for secret in secrets:
        digest = hmac.new(secret.encode(), raw_body, hashlib.sha256).digest()
        # Every secret is compared, in constant time, so timing says nothing about which.
        matched |= hmac.compare_digest(base64.b64encode(digest), given)
    if not matched:
        raise SignatureInvalid(f"{header} does not match")
