"""The headers of the HTML pages we render on the server (the public tracking page, the ops
dashboard): never cached or sniffed, never referred on beyond their origin, under a
Content-Security-Policy that loads nothing but what each page names. Each page says what it
allows; the rest is the same for all."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping


def hash_source(text: str) -> str:
    """The policy source that allows exactly the inline `text` (a stylesheet or a script)."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def content_security_policy(allowed: Mapping[str, str]) -> str:
    """A policy loading nothing but the sources `allowed` names per directive (`{"img-src":
    "data:"}`, in that order); no <base> to move the page's links, forms posted back to this
    site only, and no site may frame the page."""
    return "; ".join(
        (
            "default-src 'none'",
            *(f"{directive} {sources}" for directive, sources in allowed.items()),
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def html_headers(
    policy: str, *, frame_options: bool = False, referrer: str = "no-referrer"
) -> dict[str, str]:
    """A page's headers under `policy`; `frame_options` adds `X-Frame-Options: DENY`, which
    browsers older than `frame-ancestors` read instead; `referrer` is the Referrer-Policy (a
    page whose map key is fenced to its site's referer says `strict-origin`: the origin only,
    never the path)."""
    headers = {
        "Content-Type": "text/html; charset=utf-8",
        "Cache-Control": "no-store",
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
    }
    if frame_options:
        headers["X-Frame-Options"] = "DENY"
    return headers | {"Referrer-Policy": referrer}
