"""The operators' dashboard part of the OpenAPI document: HTML pages outside /v1, signed in
with the operator key (api/dashboard.py)."""

from __future__ import annotations

from typing import Any

from chalicelib.api.openapi.components import form_op, op


def paths() -> dict[str, dict[str, Any]]:
    """The operators' dashboard (HTML, api/dashboard.py): its session is a cookie, set by the
    sign-in form; every form carries a signed form token."""
    html = {"content": {"text/html": {"schema": {"type": "string"}}}}
    page = op("The operators' dashboard (HTML), or its sign-in form", None, {}, tags=("operator",))
    page["responses"] = {
        "200": {"description": "the dashboard with a session cookie, else the sign-in form", **html}
    }
    login = form_op(
        "Sign in to the dashboard with the operator key: a session cookie (HttpOnly, Secure, "
        "SameSite=Strict; a signed token, never the key), then the dashboard",
        {"key": {"type": "string"}, "form_token": {"type": "string"}},
        ["key", "form_token"],
        {
            "303": "signed in; Location is the dashboard, Set-Cookie the session",
            "400": "the form could not be read (HTML)",
            "401": "not the operator key (HTML): no cookie",
            "403": "the form's token is missing, expired or forged (HTML)",
            "413": "body too large (HTML)",
        },
    )
    logout = form_op(
        "Sign out of the dashboard: the session cookie cleared",
        {"form_token": {"type": "string"}},
        ["form_token"],
        {
            "303": "signed out; Location is the sign-in form",
            "400": "the form could not be read (HTML)",
            "403": "not signed in, or the form's token is not this session's (HTML)",
            "413": "body too large (HTML)",
        },
    )
    for operation in (login, logout):
        operation["tags"] = ["operator"]
        operation["responses"]["415"] = {
            "description": "not a form",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    return {"/ops": {"get": page}, "/ops/login": {"post": login}, "/ops/logout": {"post": logout}}


def add_schemas(schemas: dict[str, Any]) -> None:
    """The pages take forms and answer HTML: no schemas of their own."""
