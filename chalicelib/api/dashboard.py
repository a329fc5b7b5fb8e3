"""The operators' dashboard (HTML, outside /v1): sign in with the operator key once, then an
HttpOnly, Secure, SameSite=Strict session cookie (a signed token, never the key); every form
carries a signed token too (CSRF)."""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from chalice import Blueprint
from chalice.app import Response

from chalicelib import bootstrap
from chalicelib.analytics import dashboard as pages
from chalicelib.analytics.ops_sessions import SESSION_SECONDS
from chalicelib.api.http import raw_body, route, status_of
from chalicelib.domain.errors import AuthenticationFailed, DomainError
from chalicelib.domain.times import utc_now

dashboard = Blueprint(__name__)

FORM = ["application/x-www-form-urlencoded"]


def _html(body: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body=body, status_code=status, headers={**pages.headers(), **(headers or {})})


def _refusal(exc: DomainError) -> Response:
    """A refusal before or around a view (a body too large, the store busy) as the sign-in page."""
    sessions = bootstrap.ops_sessions()
    return _html(pages.login_page(sessions.form_token(), exc.message), status_of(exc))


def _session() -> str | None:
    header = dashboard.current_request.headers.get("cookie") or ""
    try:
        jar = SimpleCookie(header)
    except CookieError:
        return None
    morsel = jar.get(pages.COOKIE)
    return morsel.value if morsel else None


def _form() -> dict[str, str]:
    fields = parse_qs(raw_body(dashboard.current_request).decode(errors="replace"))
    return {name: values[0] for name, values in fields.items()}


def _base() -> str:
    """/ops as this client reached it (a stage in front of it stays)."""
    path = str((dashboard.current_request.context or {}).get("path") or "/ops")
    return path.rsplit("/", 1)[0] if path.endswith(("/login", "/logout")) else path


def _cookie(value: str, max_age: int) -> str:
    # No Path: the cookie's is the directory of /ops/login, i.e. /ops (behind any stage).
    return f"{pages.COOKIE}={value}; Max-Age={max_age}; HttpOnly; Secure; SameSite=Strict"


def _to_dashboard(cookie: str) -> Response:
    return Response(
        body="",
        status_code=303,
        headers={**pages.headers(), "Location": _base(), "Set-Cookie": cookie},
    )


@route(dashboard, "/ops", methods=["GET"], refuse=_refusal)
def ops_page() -> Any:
    sessions = bootstrap.ops_sessions()
    session = _session()
    if not sessions.valid(session):
        return _html(pages.login_page(sessions.form_token()))
    overview = bootstrap.analytics().overview(utc_now()[:10])
    return _html(pages.dashboard_page(overview, sessions.form_token(session)))


@route(dashboard, "/ops/login", methods=["POST"], content_types=FORM, refuse=_refusal)
def ops_login() -> Any:
    sessions = bootstrap.ops_sessions()
    form = _form()
    if not sessions.form_valid(form.get("form_token")):
        page = pages.login_page(sessions.form_token(), "This form expired: sign in again.")
        return _html(page, 403)
    try:
        bootstrap.accounts().authenticate_admin(form.get("key"))  # constant-time
    except AuthenticationFailed:
        return _html(pages.login_page(sessions.form_token(), "That is not the operator key."), 401)
    return _to_dashboard(_cookie(sessions.issue(), SESSION_SECONDS))


@route(dashboard, "/ops/logout", methods=["POST"], content_types=FORM, refuse=_refusal)
def ops_logout() -> Any:
    sessions = bootstrap.ops_sessions()
    session = _session()
    if not sessions.valid(session) or not sessions.form_valid(_form().get("form_token"), session):
        return _html(pages.login_page(sessions.form_token(), "Not signed in."), 403)
    return _to_dashboard(_cookie("", 0))
