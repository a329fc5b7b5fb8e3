"""The tracking page rendered from an Order and its timeline, without AWS."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import replace

import pytest

from chalicelib.domain.dispatch import PlannedRoute, RouteStop
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.order import Delivery, DeliveryType, Order, TimelineEvent, receive
from chalicelib.intake.canonical import parse_order
from chalicelib.tracking import page
from chalicelib.tracking.public import public_view
from tests.builders import an_order

BASE = "https://track.example.test"
PRIVATE = (
    "Zanzibarovic",  # last name
    "Quokka Lane",  # street
    "Flat 9Q",  # second address line
    "ZZ9 9ZZ",  # postcode
    "zed.private@example.com",
    "7700900999",
    "51.5238",
    "-0.1586",
    "mer_secret_merchant",
    "ord_",
)


def an_order_with_distinctive_pii(name: str = "Zed Zanzibarovic", **changes: object) -> Order:
    body = an_order(
        customer={"name": name, "email": "zed.private@example.com", "phone": "+447700900999"},
        address={
            "line1": "77 Quokka Lane",
            "line2": "Flat 9Q",
            "city": "Bristol",
            "postcode": "ZZ9 9ZZ",
            "country": "GB",
            "lat": 51.5238,
            "lng": -0.1586,
        },
    )
    order, _ = receive(
        parse_order(body), merchant_id="mer_secret_merchant", depot_id="dep_1", source="api"
    )
    return replace(order, **changes)  # type: ignore[arg-type]


TIMELINE = [
    TimelineEvent(at="2025-07-01T06:00:00.000Z", status=OrderStatus.RECEIVED, type="r"),
    TimelineEvent(at="2025-07-01T06:00:00.000Z", status=OrderStatus.READY, type="r"),
    TimelineEvent(at="2025-07-01T07:30:00.000Z", status=OrderStatus.PLANNED, type="p"),
    TimelineEvent(at="2025-07-01T09:05:00.000Z", status=OrderStatus.OUT_FOR_DELIVERY, type="o"),
]


def out_for_delivery(**changes: object) -> page.Tracking:
    order = an_order_with_distinctive_pii(
        status=OrderStatus.OUT_FOR_DELIVERY,
        eta="2025-07-01T13:15:00+00:00",
        route_id="rte_abc_000",
        **changes,
    )
    return page.Tracking(order, TIMELINE, stops_before=3)


def test_the_page_shows_status_eta_window_progress_and_timeline_in_local_time() -> None:
    html = page.render_page(out_for_delivery(), base_url=BASE, timezone="Europe/London")
    assert "Hello Zed," in html
    assert "Bristol" in html
    assert (
        '<p class="status status-out_for_delivery" id="status" role="status">Out for delivery</p>'
        in html
    )
    # 13:15 UTC is 14:15 in London in July: a window of 13:45 to 14:45, said to be local.
    assert "Tue 1 Jul, between 13:45 and 14:45" in html
    assert "Times in Europe/London" in html
    assert "3 stops before yours" in html
    timeline = re.search(r'<ol class="timeline" id="timeline">(.*?)</ol>', html, re.S)
    assert timeline is not None
    words = re.findall(r"<span>(.*?)</span><time>(.*?)</time>", timeline.group(1))
    assert words == [  # newest first, in London time
        ("Out for delivery", "Tue 1 Jul 10:05"),
        ("Scheduled for delivery", "Tue 1 Jul 08:30"),
        ("Waiting to be scheduled", "Tue 1 Jul 07:00"),
        ("Order received", "Tue 1 Jul 07:00"),
    ]


def test_without_a_known_zone_times_are_in_utc_and_the_page_says_so() -> None:
    for zone in (None, "Not/AZone"):
        html = page.render_page(out_for_delivery(), base_url=BASE, timezone=zone)
        assert "between 12:45 and 13:45" in html
        assert "Times in UTC" in html


def test_the_next_stop_is_told_it_is_next_and_one_stop_is_singular() -> None:
    tracking = out_for_delivery()
    next_up = page.render_page(replace(tracking, stops_before=0), base_url=BASE)
    assert "0 stops before yours: you are next" in next_up
    one = page.render_page(replace(tracking, stops_before=1), base_url=BASE)
    assert "1 stop before yours" in one


def test_no_eta_or_progress_once_delivered() -> None:
    order = an_order_with_distinctive_pii(
        status=OrderStatus.DELIVERED, eta="2025-07-01T13:15:00+00:00"
    )
    html = page.render_page(page.Tracking(order, TIMELINE), base_url=BASE)
    assert ">Delivered</p>" in html
    assert 'id="eta"' not in html
    assert 'id="progress"' not in html and 'id="sketch-van"' not in html


def test_a_qr_code_of_the_pages_own_url_is_inline() -> None:
    tracking = out_for_delivery()
    html = page.render_page(tracking, base_url=BASE + "/")
    own_url = f"{BASE}/track/{tracking.order.tracking_code}"
    uri = page.qr_data_uri(own_url)
    assert uri.startswith("data:image/svg+xml")
    img = re.search(r'<img src="([^"]+)" alt="QR code of this page"', html)
    assert img is not None
    assert img.group(1).replace("&#39;", "'").replace("&amp;", "&") == uri
    assert page.qr_data_uri(f"{BASE}/track/OTHERCODE") != uri


def test_the_page_holds_nothing_private() -> None:
    html = page.render_page(out_for_delivery(), base_url=BASE, timezone="Europe/London")
    for private in PRIVATE:
        assert private not in html, private


def test_the_json_twin_holds_nothing_private_and_gains_window_and_stops() -> None:
    tracking = out_for_delivery()
    view = public_view(tracking.order, tracking.timeline, stops_before=2)
    assert view["eta_window"] == {"start": "2025-07-01T12:45:00Z", "end": "2025-07-01T13:45:00Z"}
    assert view["stops_before"] == 2
    assert view["eta"] == "2025-07-01T13:15:00+00:00"
    assert view["first_name"] == "Zed" and view["city"] == "Bristol"
    assert [e["status"] for e in view["events"]] == [
        "received",
        "ready",
        "planned",
        "out_for_delivery",
    ]
    text = json.dumps(view)
    for private in PRIVATE:
        assert private not in text, private
    bare = public_view(replace(tracking.order, eta=None), tracking.timeline)
    assert "eta_window" not in bare and "stops_before" not in bare


def test_a_first_name_with_markup_is_escaped() -> None:
    order = an_order_with_distinctive_pii(name="<script>alert(1)</script> Zanzibarovic")
    html = page.render_page(page.Tracking(order, TIMELINE), base_url=BASE)
    assert inline_scripts(html) == [page.refresh_script()], "only the page's own script"
    assert "Hello &lt;script&gt;alert(1)&lt;/script&gt;," in html


def test_a_locker_delivery_shows_the_locker() -> None:
    order = an_order_with_distinctive_pii(
        delivery=Delivery(type=DeliveryType.LOCKER, locker_id="LKR-042")
    )
    html = page.render_page(page.Tracking(order, TIMELINE), base_url=BASE)
    assert 'id="locker"' in html and "LKR-042" in html
    home = page.render_page(page.Tracking(an_order_with_distinctive_pii(), TIMELINE), base_url=BASE)
    assert 'id="locker"' not in home


def inline_scripts(html: str) -> list[str]:
    assert not re.search(r"<script[^>]*\ssrc=", html), "no script is loaded from anywhere"
    return re.findall(r"<script>(.*?)</script>", html, re.S)


def test_the_page_loads_nothing_from_elsewhere_and_its_policy_allows_its_own_style() -> None:
    html = page.render_page(out_for_delivery(), base_url=BASE)
    assert "@import" not in html
    assert inline_scripts(html) == [page.refresh_script()]
    # The one link is an empty inline icon, so the browser does not ask for /favicon.ico.
    assert re.findall(r"<link[^>]*>", html) == ['<link rel="icon" href="data:,">']
    assert all(src.startswith("data:") for src in re.findall(r'src="([^"]*)"', html))
    assert "url(" not in page.stylesheet()
    headers = page.headers()
    policy = headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "img-src 'self' data:" in policy
    style = re.search(r"<style>(.*?)</style>", html, re.S)
    assert style is not None
    digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in policy
    # The one script by its hash: no 'unsafe-inline', no other origin, fetches only this site.
    script = base64.b64encode(hashlib.sha256(page.refresh_script().encode()).digest()).decode()
    assert f"script-src 'sha256-{script}';" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "connect-src 'self'" in policy
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Content-Type-Options"] == "nosniff"
    # The origin alone, in the header and the page's <meta> alike (a meta saying less would
    # override the header and leave the map key's referer fence unmet).
    assert headers["Referrer-Policy"] == "strict-origin"
    assert '<meta name="referrer" content="strict-origin">' in html


def test_not_found_and_rate_limited_pages_are_html() -> None:
    assert "We could not find this parcel" in page.render_not_found()
    assert "try again in 17 seconds" in page.render_rate_limited(17)


# -- stops before yours --------------------------------------------------------------------


def a_stop(order_id: str, state: str = "pending") -> RouteStop:
    return RouteStop(
        order_id=order_id,
        kind="delivery",
        eta="2025-07-01T10:00:00Z",
        lat=51.5,
        lng=-0.1,
        service_s=120,
        state=state,
    )


def a_route(*stops: RouteStop) -> PlannedRoute:
    return PlannedRoute(
        route_id="rte_abc_000",
        run_id="run_abc",
        depot_id="dep_1",
        vehicle_id="van-1",
        profile="van",
        start_at="2025-07-01T08:00:00Z",
        depot_lat=51.5,
        depot_lng=-0.1,
        distance_m=1000,
        duration_s=3600,
        stops=stops,
    )


def test_stops_before_counts_only_pending_stops_ahead() -> None:
    route = a_route(a_stop("a", "done"), a_stop("b"), a_stop("c", "done"), a_stop("d"), a_stop("e"))
    assert page.stops_before(route, "d") == 1
    assert page.stops_before(route, "b") == 0
    assert page.stops_before(route, "e") == 2
    assert page.stops_before(route, "a") is None, "already visited"
    assert page.stops_before(route, "zzz") is None, "not on this route"


class FakeOrders:
    def __init__(self, order: Order) -> None:
        self.order = order

    def by_tracking_code(self, code: str) -> tuple[Order, list[TimelineEvent]]:
        assert code == self.order.tracking_code
        return self.order, TIMELINE


class RecordingRoutes:
    def __init__(self, route: PlannedRoute | None) -> None:
        self.route = route
        self.asked: list[str] = []

    def get_route(self, route_id: str) -> PlannedRoute | None:
        self.asked.append(route_id)
        return self.route


@pytest.mark.parametrize(
    ("status", "route_id", "expected", "asked"),
    [
        (OrderStatus.OUT_FOR_DELIVERY, "rte_abc_000", 2, ["rte_abc_000"]),
        (OrderStatus.PLANNED, "rte_abc_000", None, ["rte_abc_000"]),
        (OrderStatus.OUT_FOR_DELIVERY, None, None, []),
        (OrderStatus.DELIVERED, "rte_abc_000", None, []),
    ],
)
def test_find_asks_the_route_only_while_on_its_way(
    status: OrderStatus, route_id: str | None, expected: int | None, asked: list[str]
) -> None:
    order = an_order_with_distinctive_pii(status=status, route_id=route_id)
    live = replace(a_stop(order.order_id), eta="2025-07-01T10:42:00Z")
    routes = RecordingRoutes(a_route(a_stop("x"), a_stop("y", "done"), a_stop("z"), live))
    found = page.find(order.tracking_code, FakeOrders(order), routes)
    assert found.stops_before == expected
    assert routes.asked == asked
    if asked:
        # The route's live ETA with its own window (half an hour either side), nothing else.
        told = replace(order, eta=live.eta, eta_from="2025-07-01T10:12:00Z")
        assert found.order == replace(told, eta_to="2025-07-01T11:12:00Z")
    else:
        assert found.order is order


def test_a_stop_no_longer_pending_shows_the_orders_own_eta() -> None:
    order = an_order_with_distinctive_pii(status=OrderStatus.PLANNED, route_id="rte_abc_000")
    gone = replace(a_stop(order.order_id, "dropped"), eta="2025-07-01T10:42:00Z")
    found = page.find(order.tracking_code, FakeOrders(order), RecordingRoutes(a_route(gone)))
    assert found.order is order


def test_find_without_the_route_has_no_stops_before() -> None:
    order = an_order_with_distinctive_pii(
        status=OrderStatus.OUT_FOR_DELIVERY, route_id="rte_gone_000"
    )
    assert (
        page.find(order.tracking_code, FakeOrders(order), RecordingRoutes(None)).stops_before
        is None
    )
