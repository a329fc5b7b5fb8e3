"""The headers the ops dashboard and the tracking page send, written out in full: the policy
each page's HTML runs under, directive by directive in its order, and the headers around it.
Only the hashes of the inline assets are computed here (from the files, so an edited stylesheet
does not fail this test; the page tests check the page runs under them)."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from chalicelib.analytics import dashboard
from chalicelib.html_headers import hash_source, html_headers
from chalicelib.tracking import page

ROOT = Path(__file__).resolve().parents[2]
BRAND = ":root{--brand:#112233}"
TILES = "https://tiles.example.com"
PHOTOS = "https://photos.example.com"


def digest_of(path: str) -> str:
    text = (ROOT / path).read_text()
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def test_the_dashboard_sends_its_policy_and_denies_framing_twice() -> None:
    ops_css = digest_of("chalicelib/analytics/templates/ops.css")
    assert list(dashboard.headers().items()) == [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Cache-Control", "no-store"),
        (
            "Content-Security-Policy",
            "default-src 'none'; img-src data:; "
            f"style-src 'sha256-{ops_css}'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
    ]


STYLE = "'sha256-{style}'"
SCRIPT = "'sha256-{script}'"
BRAND_HASH = "'sha256-Ci2Y8Dq+YTjrl4/By2SRoCNYnPIDfemiGW11XTfgwow='"  # of BRAND


@pytest.mark.parametrize(
    ("brand", "tiles", "photos", "policy"),
    [
        (
            None,
            None,
            None,
            f"default-src 'none'; img-src 'self' data:; style-src {STYLE}; "
            f"script-src {SCRIPT}; connect-src 'self'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
        (
            BRAND,
            None,
            None,
            f"default-src 'none'; img-src 'self' data:; style-src {STYLE} {BRAND_HASH}; "
            f"script-src {SCRIPT}; connect-src 'self'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
        (
            None,
            TILES,
            None,
            f"default-src 'none'; img-src 'self' data: blob: {TILES}; style-src 'self' {STYLE}; "
            f"script-src 'self' {SCRIPT}; connect-src 'self' {TILES}; worker-src 'self'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
        (
            None,
            None,
            PHOTOS,
            f"default-src 'none'; img-src 'self' data: {PHOTOS}; style-src {STYLE}; "
            f"script-src {SCRIPT}; connect-src 'self'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
        (
            BRAND,
            TILES,
            PHOTOS,
            f"default-src 'none'; img-src 'self' data: blob: {TILES} {PHOTOS}; "
            f"style-src 'self' {STYLE} {BRAND_HASH}; script-src 'self' {SCRIPT}; "
            f"connect-src 'self' {TILES}; worker-src 'self'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
    ],
    ids=["plain", "brand", "tiles", "photo", "all"],
)
def test_the_tracking_page_sends_its_policy_for_what_it_shows(
    brand: str | None, tiles: str | None, photos: str | None, policy: str
) -> None:
    expected = policy.format(
        style=digest_of("chalicelib/tracking/templates/style.css"),
        script=digest_of("chalicelib/tracking/templates/refresh.js"),
    )
    assert list(page.headers(brand, tiles, photos).items()) == [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Cache-Control", "no-store"),
        ("Content-Security-Policy", expected),
        ("X-Content-Type-Options", "nosniff"),
        # The origin only: the map key's referer fence needs it, the tracking code in the
        # path never leaves the site.
        ("Referrer-Policy", "strict-origin"),
    ]


def test_a_hash_source_is_the_base64_sha256_of_the_text_quoted() -> None:
    # the SHA-256 of nothing, as every CSP reference gives it
    assert hash_source("") == "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
    assert hash_source(BRAND) == BRAND_HASH


def test_framing_is_denied_by_header_only_when_asked() -> None:
    assert "X-Frame-Options" not in html_headers("default-src 'none'")
    assert html_headers("default-src 'none'", frame_options=True)["X-Frame-Options"] == "DENY"
