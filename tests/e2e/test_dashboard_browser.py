"""The operators' dashboard in a real browser (Debian's Chromium, headless, Playwright): signed
in with the operator key, it shows today's KPIs and its charts under its own CSP with no error
or violation; a wrong key signs nobody in; the session cookie is HttpOnly, Secure and
SameSite=Strict and is not the key. Screenshots at desktop and mobile widths go to
tests/artifacts/ (git-ignored)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext

from tests.e2e.conftest import ADMIN_KEY, Runtime
from tests.e2e.test_analytics import driven  # noqa: F401  (a route driven to its end)
from tests.e2e.test_tracking_browser import Watched, browser  # noqa: F401  (Chromium)

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
SIZES = {"desktop": (1280, 900), "mobile": (390, 844)}


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:  # noqa: F811
    made = browser.new_context(java_script_enabled=True)
    yield made
    made.close()


def _sign_in(runtime: Runtime, watched: Watched, key: str) -> Any:
    page = watched.page
    page.goto(runtime.url("/ops"))
    page.locator("#key").fill(key)
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Sign in").click()
    return navigation.value


def test_a_wrong_key_signs_nobody_in(runtime: Runtime, context: BrowserContext) -> None:
    watched = Watched(context.new_page())
    answer = _sign_in(runtime, watched, "not-the-operator-key")
    assert answer.status == 401
    assert "not the operator key" in watched.page.locator(".error").inner_text()
    assert context.cookies() == []
    assert watched.page.locator("#today").count() == 0
    assert watched.violations() == []


def test_the_operator_signs_in_and_sees_kpis_and_charts(
    runtime: Runtime,
    context: BrowserContext,
    driven: dict[str, Any],  # noqa: F811
) -> None:
    watched = Watched(context.new_page())
    page = watched.page
    answer = _sign_in(runtime, watched, ADMIN_KEY)
    assert answer.status == 200 and page.url == runtime.url("/ops")

    [cookie] = context.cookies()
    assert cookie["name"] == "lm_ops"
    assert cookie["httpOnly"] is True and cookie["secure"] is True
    assert cookie["sameSite"] == "Strict"
    assert ADMIN_KEY not in cookie["value"]
    assert page.evaluate("document.cookie") == "", "the session is out of the page's reach"

    today = page.locator("#today")
    delivered = today.locator(".kpi", has_text="delivered").first.locator("b").inner_text()
    assert int(delivered) >= 3, "the route driven today is counted"
    for chart in ("#chart-trend", "#chart-on-time", "#chart-reasons"):
        assert page.locator(chart).evaluate("e => e.naturalWidth") > 0, chart
    assert page.locator("#drivers tbody tr").count() >= 1
    assert page.locator("#routes tbody tr", has_text=driven["route"]["route_id"]).count() == 1

    ARTIFACTS.mkdir(exist_ok=True)
    for name, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(ARTIFACTS / f"ops-dashboard-{name}.png"), full_page=True)
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= width, f"{name}: the page scrolls sideways ({wide} px)"

    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    assert page.locator("#key").count() == 1 and context.cookies() == []
    assert watched.errors == []
    assert watched.violations() == []
