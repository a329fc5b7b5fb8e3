"""The tracking page in a real browser (Debian's Chromium, headless, driven by Playwright): it
renders under its own Content-Security-Policy with no console error and no violation, shows
nothing private, its rating form works without JavaScript, its script refreshes the status by
itself, and axe-core finds no serious or critical accessibility violation on a phone (390 px)
or a desktop (1280 px); screenshots of each go to tests/artifacts/. `make test` installs
Chromium; axe-core's axe.min.js is vendored in tests/e2e/vendor (MPL-2.0)."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from tests.builders import an_order
from tests.e2e.conftest import ROOT, Runtime
from tests.e2e.test_dispatch import wait_for
from tests.e2e.test_driver_events import dispatched, post
from tests.e2e.test_tracking_page import (
    ZED,
    a_private_order,
    delivered_and_failed,
    fresh_minute,  # noqa: F401  (autouse: each test starts with a fresh rate-limit minute)
)

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
ARTIFACTS = ROOT / "tests" / "artifacts"
WIDTHS = {"phone": (390, 844), "desktop": (1280, 900)}

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


# -- the live page: van, area, brand, refresh, accessibility -----------------------------------


def axe_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations of the page as it stands (axe is evaluated
    through the DevTools protocol, which the page's CSP does not govern, so the page's own
    policy stays as served)."""
    page.evaluate(AXE.read_text())
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))}))"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['nodes']}"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


def at_both_widths(page: Page, url: str, name: str) -> None:
    """The page at a phone's and a desktop's width: no serious or critical axe violation, a
    full-page screenshot of each in tests/artifacts/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for label, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        response = page.goto(url)
        assert response is not None and response.status == 200
        assert axe_violations(page) == [], label
        # Nothing wider than the screen (no sideways scrolling on a phone).
        assert page.evaluate("document.documentElement.scrollWidth") <= width, label
        page.screenshot(path=str(ARTIFACTS / f"tracking-{name}-{width}.png"), full_page=True)


def test_the_live_page_shows_van_and_area_and_refreshes_itself_on_a_phone_and_a_desktop(
    runtime: Runtime, watched: Watched
) -> None:
    found = dispatched(runtime, vehicles=1, orders=3, make_order=a_private_order)
    [route] = found["run"]["routes"]
    key = found["api_key"]
    brand = {"display_name": "Quokka Parcels", "colour": "#0b6e4f", "help_url": "https://h.test/"}
    assert runtime.merchant(key, "PUT", "/v1/brand", json=brand).status_code == 200
    first, _, last = (stop["order_id"] for stop in route["stops"])
    code = runtime.merchant(key, "GET", f"/v1/orders/{last}").json()["tracking_code"]
    assert post(runtime, route, type="departed", event_id="b-dep").status_code == 202
    ping = post(runtime, route, type="location", event_id="b-ping", lat=51.5031, lng=-0.1172)
    assert ping.status_code == 202, ping.text
    url = runtime.url(f"/track/{code}")

    served = requests.get(url, timeout=10)
    policy = served.headers["Content-Security-Policy"]
    script = re.search(r"<script>(.*?)</script>", served.text, re.S)
    assert script is not None
    digest = base64.b64encode(hashlib.sha256(script.group(1).encode()).digest()).decode()
    script_src = next(d for d in policy.split("; ") if d.startswith("script-src"))
    assert script_src == f"script-src 'sha256-{digest}'", "its hash, no unsafe-inline, no origin"

    page = watched.page
    at_both_widths(page, url, "out-for-delivery")
    assert page.locator("#sketch-van").is_visible() and page.locator("#sketch-area").is_visible()
    assert page.locator("#sketch .stop").count() == 2
    assert page.locator("#merchant").inner_text() == "Quokka Parcels"
    assert page.locator("#help").get_attribute("href") == "https://h.test/"
    assert page.locator("#status").inner_text() == "Out for delivery"
    assert page.locator("#stops-text").inner_text() == "2 stops before yours"
    assert_nothing_private(page.content())

    # A route event: the page's script picks it up, with no reload (the marker survives).
    page.evaluate("window.__not_reloaded = true")
    done = post(runtime, route, type="delivered", event_id="b-dlv", order_id=first)
    assert done.status_code == 202, done.text
    expect(page.locator("#stops-text")).to_have_text("1 stop before yours", timeout=25_000)
    missed = post(
        runtime, route, type="failed", event_id="b-fail", order_id=last, reason="not_home"
    )
    assert missed.status_code == 202, missed.text
    expect(page.locator("#status")).to_have_text(
        "Delivery attempt failed: nobody was in", timeout=25_000
    )
    assert page.evaluate("window.__not_reloaded") is True
    assert watched.errors == []
    assert watched.violations() == []


def test_a_failed_attempt_reads_as_one_on_a_phone_and_a_desktop(
    runtime: Runtime, watched: Watched
) -> None:
    codes = delivered_and_failed(runtime)
    page = watched.page
    at_both_widths(page, runtime.url(f"/track/{codes['failed']}"), "failed-attempt")
    assert page.locator("#status").inner_text() == "Delivery attempt failed: nobody was in"
    timeline = page.locator("#timeline li span").all_inner_texts()
    assert timeline.count("Out for delivery") == 1
    assert "Waiting to be scheduled" not in page.locator("#status").inner_text()
    assert_nothing_private(page.content())
    assert watched.errors == [] and watched.violations() == []


def test_a_locker_order_names_its_locker_on_a_phone_and_a_desktop(
    runtime: Runtime, watched: Watched
) -> None:
    body = an_order(
        external_id="browser-locker-1",
        delivery={"type": "locker", "locker_id": runtime.demo["locker_id"]},
    )
    key = runtime.demo["api_key"]
    created = runtime.merchant(key, "POST", "/v1/orders", json=body)
    assert created.status_code == 201, created.text
    code = created.json()["tracking_code"]
    page = watched.page
    at_both_widths(page, runtime.url(f"/track/{code}"), "locker")
    assert page.locator("#destination").inner_text() == "To the locker at London Bridge Station"
    assert "Delivery to London" not in page.content()
    for private in ("Hopper", "Baker Street", "NW1 6XE", "grace@example.com", "7700900456"):
        assert private not in page.content(), private
    assert watched.errors == [] and watched.violations() == []


# -- a page left open: it follows the parcel by itself --------------------------------------


def van_at(page: Page) -> tuple[str, str]:
    van = page.locator("#sketch-van")
    return str(van.get_attribute("cx")), str(van.get_attribute("cy"))


def test_a_page_opened_before_dispatch_follows_the_parcel_to_the_door_without_a_reload(
    runtime: Runtime, watched: Watched
) -> None:
    depot = runtime.depot("Followed depot", vans=1)
    merchant = runtime.admin("POST", "/v1/merchants", json={"name": "Followed", "depot_id": depot})
    key = merchant.json()["api_key"]
    created = [
        runtime.merchant(
            key, "POST", "/v1/orders", json=a_private_order(f"follow-{depot}-{n}", lat, lng)
        ).json()
        for n, (lat, lng) in enumerate(((51.504, -0.12), (51.508, -0.117)))
    ]
    mine = created[1]
    page = watched.page
    page.goto(runtime.url(f"/track/{mine['tracking_code']}"))
    assert page.locator("#status").inner_text() == "Waiting to be scheduled"
    assert page.locator("#eta").count() == 0 and page.locator("#progress").count() == 0
    assert page.locator("#where").is_hidden(), "nothing to draw before a route"
    page.evaluate("window.__not_reloaded = true")

    run = wait_for(runtime, runtime.admin("POST", f"/v1/depots/{depot}/dispatch").json()["run_id"])
    assert run["status"] == "succeeded", run
    [route] = run["routes"]
    expect(page.locator("#status")).to_have_text("Scheduled for delivery", timeout=25_000)
    expect(page.locator("#eta-text")).to_contain_text("between", timeout=5_000)
    expect(page.locator("#where")).to_be_visible()
    assert page.locator("#sketch-van").count() == 0, "no van before it leaves"

    before = [s["order_id"] for s in route["stops"]].index(mine["order_id"])
    assert post(runtime, route, type="departed", event_id="f-dep").status_code == 202
    words = f"{before} {'stop' if before == 1 else 'stops'} before yours"
    expect(page.locator("#stops-text")).to_contain_text(words, timeout=25_000)
    assert post(runtime, route, type="location", event_id="f-ping-1", lat=51.5031, lng=-0.1172).ok
    expect(page.locator("#sketch-van")).to_be_visible(timeout=25_000)
    first = van_at(page)
    assert post(runtime, route, type="location", event_id="f-ping-2", lat=51.51, lng=-0.11).ok
    page.wait_for_function(
        "([x, y]) => { const v = document.getElementById('sketch-van');"
        " return v && (v.getAttribute('cx') !== x || v.getAttribute('cy') !== y); }",
        arg=list(first),
        timeout=25_000,
    )
    assert van_at(page) != first, "the van moved on the page"

    done = post(
        runtime,
        route,
        type="delivered",
        event_id="f-dlv",
        order_id=mine["order_id"],
        proof={"recipient_name": "Zed Zanzibarovic", "safe_place": "the porch"},
    )
    assert done.status_code == 202, done.text
    expect(page.locator("#status")).to_have_text("Delivered", timeout=25_000)
    assert page.locator("#eta").count() == 0, "no 'Expected' beside 'Delivered'"
    assert page.locator("#progress").count() == 0, "no stops before a delivered parcel"
    assert page.locator("#where").is_hidden()
    assert page.locator("#received-by").inner_text() == "Received by Zed"
    assert page.locator("#safe-place").inner_text() == "Left at: the porch"
    expect(page.get_by_role("button", name="Send rating")).to_be_visible()
    assert page.locator("#timeline li span").first.inner_text() == "Delivered"
    assert page.title() == "Delivered · Parcel tracking"
    assert page.evaluate("window.__not_reloaded") is True, "all of it without a reload"
    assert_nothing_private(page.content())
    assert watched.errors == []
    assert watched.violations() == []


def test_without_javascript_the_page_shows_everything_and_its_sketch(
    runtime: Runtime, browser: Browser
) -> None:
    found = dispatched(runtime, vehicles=1, orders=3, make_order=a_private_order)
    [route] = found["run"]["routes"]
    last = route["stops"][-1]["order_id"]
    code = runtime.merchant(found["api_key"], "GET", f"/v1/orders/{last}").json()["tracking_code"]
    assert post(runtime, route, type="departed", event_id="nojs-dep").status_code == 202
    ping = post(runtime, route, type="location", event_id="nojs-ping", lat=51.5031, lng=-0.1172)
    assert ping.status_code == 202, ping.text

    context = browser.new_context(java_script_enabled=False)
    try:
        watched = Watched(context.new_page())
        page = watched.page
        page.set_viewport_size({"width": 390, "height": 844})
        response = page.goto(runtime.url(f"/track/{code}"))
        assert response is not None and response.status == 200
        for shown in ("#status", "#eta-text", "#stops-text", "#sketch", "#timeline", ".qr img"):
            assert page.locator(shown).first.is_visible(), shown
        assert page.locator("#status").inner_text() == "Out for delivery"
        assert page.locator("#stops-text").inner_text() == "2 stops before yours"
        assert (
            page.locator("#sketch-van").is_visible() and page.locator("#sketch-area").is_visible()
        )
        assert page.locator("#sketch .stop").count() == 2
        assert page.locator("#timeline li").count() >= 3
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "tracking-no-script-390.png"), full_page=True)
        assert_nothing_private(page.content())
        assert watched.errors == []
    finally:
        context.close()
