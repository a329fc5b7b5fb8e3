"""The operators' dashboard without a browser: signed sessions and form tokens (expiry, the
key they were signed with, their purpose), and the pages drawn from an overview."""

from __future__ import annotations

import hashlib

from chalicelib.analytics import dashboard
from chalicelib.analytics.metrics import DEFINITIONS, metrics
from chalicelib.analytics.ops_sessions import SESSION_SECONDS, OpsSessions

KEY_HASH = hashlib.sha256(b"the-operator-key").hexdigest()


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_session_is_signed_expires_and_never_carries_the_key() -> None:
    clock = Clock()
    sessions = OpsSessions(KEY_HASH, clock)
    token = sessions.issue()
    assert sessions.valid(token)
    assert "the-operator-key" not in token and KEY_HASH not in token
    assert not OpsSessions(hashlib.sha256(b"another").hexdigest(), clock).valid(token)
    assert not sessions.valid(token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1])
    assert not sessions.valid(None) and not sessions.valid("s.1.x") and not sessions.valid("")
    clock.now += SESSION_SECONDS + 1
    assert not sessions.valid(token)


def test_form_tokens_are_not_sessions_and_bind_to_theirs() -> None:
    sessions = OpsSessions(KEY_HASH, Clock())
    form = sessions.form_token()
    assert sessions.form_valid(form) and not sessions.valid(form)
    assert not sessions.form_valid(sessions.issue())
    session = sessions.issue()
    bound = sessions.form_token(session)
    assert sessions.form_valid(bound, session)
    assert not sessions.form_valid(bound, sessions.issue())  # another session's form
    assert not OpsSessions("", Clock()).valid(session), "no operator key: no sessions at all"


def _overview() -> dict:
    empty = {"key": "all", **metrics({}, {})}
    busy = {
        "key": "all",
        **metrics(
            {"delivered": 7, "orders": 8, "failed_attempts": 2, "failed_not_home": 2},
            {"received_to_delivered": {30: 7}},
        ),
    }
    return {
        "today": "2026-03-02",
        "from": "2026-02-01",
        "kpis_today": busy,
        "kpis_period": busy,
        "trend": [{"key": "2026-03-01"}, {"key": "2026-03-02", **busy}],
        "vehicles": [{**empty, "key": "van-1"}],
        "routes": [],
        "definitions": DEFINITIONS,
    }


def test_the_dashboard_page_shows_kpis_and_charts_as_images_only() -> None:
    html = dashboard.dashboard_page(_overview(), "f.token")
    assert "<script" not in html
    assert html.count('src="data:image/svg+xml;base64,') == 3  # trend, on time, reasons
    assert ">7</b><span>delivered" in html and "van-1" in html
    policy = dashboard.headers()["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert "img-src data:" in policy and "form-action 'self'" in policy


def test_the_sign_in_page_posts_the_key_with_a_form_token() -> None:
    html = dashboard.login_page("f.1.abc.sig", "That is not the operator key.")
    assert 'action="/ops/login"' in html and 'type="password"' in html
    assert 'value="f.1.abc.sig"' in html and "not the operator key" in html
