"""The tracking page in a real browser (Debian's Chromium, headless, driven by Playwright): it
renders under its own Content-Security-Policy with no console error and no violation, shows
nothing private, and its rating form works without JavaScript. `make test` installs Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from tests.e2e.conftest import Runtime
from tests.e2e.test_tracking_page import (
    ZED,
    delivered_and_failed,
    fresh_minute,  # noqa: F401  (autouse: each test starts with a fresh rate-limit minute)
)

CHROMIUM = Path("/usr/bin/chromium")
# As root in a container, without a sandbox; no calls home (this machine's network is closed).
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Collected by a script the browser injects before the page's own (CSP does not apply to it).
WATCH_CSP = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', e => {
  window.__violations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), "Chromium is missing: `make test` installs it (make browser)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=FLAGS
        )
        yield launched
        launched.close()


class Watched:
    """A page with its console errors, uncaught errors and CSP violations recorded."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.add_init_script(WATCH_CSP)
        page.set_default_timeout(10_000)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning") or "Content Security Policy" in message.text:
            self.errors.append(f"{message.type}: {message.text}")

    def violations(self) -> list[Any]:
        return list(self.page.evaluate("window.__violations"))


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(java_script_enabled=True)
    yield Watched(context.new_page())
    context.close()


def assert_nothing_private(html: str) -> None:
    for private in ZED:
        assert private not in html, private


def test_the_page_renders_cleanly_and_its_rating_form_works(
    runtime: Runtime, watched: Watched
) -> None:
    codes = delivered_and_failed(runtime)
    page = watched.page

    response = page.goto(runtime.url(f"/track/{codes['delivered']}"))
    assert response is not None and response.status == 200
    assert page.locator("#status").inner_text() == "Delivered"
    assert page.locator("h1").inner_text() == "Hello Zed, here is your parcel"
    # The inline stylesheet applied (a blocked one would leave the card unstyled).
    radius = page.locator(".card").first.evaluate("e => getComputedStyle(e).borderRadius")
    assert radius != "0px"
    assert page.locator("img[alt='QR code of this page']").evaluate("e => e.naturalWidth") > 0
    assert_nothing_private(page.content())

    page.locator("label[for='rating-4']").click()
    page.locator("#comment").fill("Quick and friendly")
    with page.expect_navigation():
        page.get_by_role("button", name="Send rating").click()
    assert page.url == runtime.url(f"/track/{codes['delivered']}"), "303 back to the page"
    assert "You rated this delivery 4 out of 5" in page.locator("#thanks").inner_text()
    assert page.locator("form").count() == 0
    assert_nothing_private(page.content())

    page.goto(runtime.url(f"/track/{codes['failed']}"))
    assert page.locator("#reschedule select option").count() == 7
    day = page.locator("#reschedule select option").nth(2).get_attribute("value")
    assert day is not None
    page.locator("#reschedule select").select_option(day)
    with page.expect_navigation():
        page.get_by_role("button", name="Choose this day").click()
    assert "between 08:00 and 20:00" in page.locator("#chosen").inner_text()
    assert_nothing_private(page.content())

    assert watched.errors == []
    assert watched.violations() == []


def test_a_refusal_renders_as_a_page_without_errors(runtime: Runtime, watched: Watched) -> None:
    codes = delivered_and_failed(runtime)
    page = watched.page
    page.goto(runtime.url(f"/track/{codes['failed']}"))
    page.locator("#reschedule select").evaluate(
        "s => { s.options[0].value = '1999-01-01'; }"  # a day the server must refuse
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Choose this day").click()
    assert "Please check your answer" in page.locator("h1").inner_text()
    page.get_by_role("link", name="Back to your parcel").click()
    page.wait_for_url(runtime.url(f"/track/{codes['failed']}"))
    assert page.locator("#chosen").count() == 0, "nothing stored"
    assert_nothing_private(page.content())
    # The 422 document is reported by Chromium as a failed load, nothing else may be.
    errors = [e for e in watched.errors if "status of 422" not in e]
    assert errors == []
    assert watched.violations() == []
