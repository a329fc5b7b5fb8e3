"""DoorDash Drive tokens are shaped as DoorDash documents: HS256 with the base64url-decoded
signing secret, header dd-ver DD-JWT-V1, claims aud doordash, iss, kid, exp and iat."""

from __future__ import annotations

import base64

import jwt
import pytest

from chalicelib.carriers.doordash_drive import TOKEN_LIFETIME_S, bearer_token

SECRET_BYTES = b"a-signing-secret-of-32-bytes-ok!"
SECRET = base64.urlsafe_b64encode(SECRET_BYTES).decode().rstrip("=")


def test_the_token_header_and_claims() -> None:
    token = bearer_token("dev-1", "key-1", SECRET, now=lambda: 1_800_000_000.0)
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "HS256", "typ": "JWT", "dd-ver": "DD-JWT-V1"}
    claims = jwt.decode(
        token,
        SECRET_BYTES,
        algorithms=["HS256"],
        audience="doordash",
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims == {
        "aud": "doordash",
        "iss": "dev-1",
        "kid": "key-1",
        "iat": 1_800_000_000,
        "exp": 1_800_000_000 + TOKEN_LIFETIME_S,
    }


def test_the_token_is_signed_with_the_decoded_secret_not_its_text() -> None:
    token = bearer_token("dev-1", "key-1", SECRET)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, SECRET.encode(), algorithms=["HS256"], audience="doordash")
    assert (
        jwt.decode(token, SECRET_BYTES, algorithms=["HS256"], audience="doordash")["iss"] == "dev-1"
    )
