"""What the tracking page says and where it says things are: the timeline told once per status,
a failed attempt said as such, locker wording, the customer's stop as an area that holds it but
is never centred on it, the van rounded, the brand, and the JSON twin with nothing private."""

from __future__ import annotations

import json
import random
import re
from dataclasses import replace

import pytest

from chalicelib.domain.dispatch import Fix
from chalicelib.domain.geo import great_circle_m
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.order import Delivery, DeliveryType, TimelineEvent
from chalicelib.domain.tenancy import Brand, Merchant, is_https_url
from chalicelib.tracking import page
from chalicelib.tracking.live_eta import with_route_eta
from chalicelib.tracking.map_tiles import MAPLIBRE, STATIC_FILES, MapTiles, static_file
from chalicelib.tracking.public import public_brand
from chalicelib.tracking.story import destination, entries, headline
from chalicelib.tracking.whereabouts import (
    AREA_DECIMALS,
    Point,
    approximate_area,
    sketch,
    van_position,
)
from tests.unit.tracking.test_page import (
    BASE,
    PRIVATE,
    RecordingRoutes,
    a_route,
    a_stop,
    an_order_with_distinctive_pii,
)

S = OrderStatus


def event(at: str, status: OrderStatus, type_: str = "t", note: str | None = None) -> TimelineEvent:
    return TimelineEvent(at=f"2025-07-01T{at}:00Z", status=status, type=type_, note=note)


FAILED_THEN_READY = [
    event("06:00", S.RECEIVED),
    event("06:00", S.READY),
    event("07:30", S.PLANNED, "order.planned"),
    event("09:05", S.OUT_FOR_DELIVERY, "order.out_for_delivery"),
    event("10:10", S.OUT_FOR_DELIVERY, "driver.arrived"),  # arrival: same status again
    event("10:12", S.FAILED_ATTEMPT, "order.failed", "reason: not_home"),
    event("10:12", S.READY, "order.rescheduled"),
]


def test_the_timeline_says_each_status_once_in_a_row_and_the_failure_with_its_reason() -> None:
    shown = [(e.words, e.at[11:16]) for e in entries(FAILED_THEN_READY)]
    assert shown == [
        ("Order received", "06:00"),
        ("Waiting to be scheduled", "06:00"),
        ("Scheduled for delivery", "07:30"),
        ("Out for delivery", "09:05"),  # once, at its first moment
        ("Delivery attempt failed: nobody was in", "10:12"),
        ("We will try again", "10:12"),
    ]
    in_locker = [
        event("11:00", S.IN_LOCKER, "order.in_locker"),
        event("12:00", S.IN_LOCKER, "locker.code_resent"),
        event("13:00", S.IN_LOCKER, "locker.extended"),
    ]
    assert [e.words for e in entries(in_locker)] == ["Ready to collect from the locker"]


def test_the_json_twin_tells_the_pages_timeline_beside_every_event() -> None:
    order = an_order_with_distinctive_pii(status=S.READY)
    twin = page.Tracking(order, FAILED_THEN_READY).public()
    assert len(twin["events"]) == len(FAILED_THEN_READY), "events as they were, repeats and all"
    assert [e["status"] for e in twin["events"]].count("out_for_delivery") == 2
    assert twin["timeline"] == [
        {"at": e.at, "status": str(e.status), "headline": e.words}
        for e in entries(FAILED_THEN_READY)
    ]
    assert [e["status"] for e in twin["timeline"]].count("out_for_delivery") == 1
    assert twin["timeline"][4] == {
        "at": "2025-07-01T10:12:00Z",
        "status": "failed_attempt",
        "headline": "Delivery attempt failed: nobody was in",
    }


def test_a_failed_attempt_is_the_headline_until_the_order_is_planned_again() -> None:
    order = an_order_with_distinctive_pii(status=S.READY)
    assert headline(order, FAILED_THEN_READY) == "Delivery attempt failed: nobody was in"
    other = [*FAILED_THEN_READY[:5], event("10:12", S.FAILED_ATTEMPT, "order.failed", "x: y")]
    assert headline(order, other) == "Delivery attempt failed"
    planned_again = [*FAILED_THEN_READY, event("14:00", S.PLANNED, "order.planned")]
    planned = replace(order, status=S.PLANNED)
    assert headline(planned, planned_again) == "Scheduled for delivery"
    assert headline(order, FAILED_THEN_READY[:2]) == "Waiting to be scheduled"
    html = page.render_page(page.Tracking(order, FAILED_THEN_READY), base_url=BASE)
    assert 'id="status" role="status">Delivery attempt failed: nobody was in</p>' in html
    assert "Waiting to be scheduled</p>" not in html
    assert html.count("<span>Out for delivery</span>") == 1
    assert 'id="sketch"' not in html, "off its route: no sketch of a lone circle"
    assert '<section class="card" id="where" hidden>' in html, "its card waits, hidden"


def test_a_locker_order_says_which_locker_not_which_city() -> None:
    order = an_order_with_distinctive_pii(
        delivery=Delivery(type=DeliveryType.LOCKER, locker_id="lkr_station")
    )
    assert destination(order, {"name": "Temple Meads"}) == "To the locker at Temple Meads"
    assert destination(order, None) == "To the locker at lkr_station"
    home = an_order_with_distinctive_pii()
    assert destination(home, None) == "Delivery to Bristol"
    tracking = page.Tracking(order, FAILED_THEN_READY[:3], locker={"name": "Temple Meads"})
    html = page.render_page(tracking, base_url=BASE)
    assert "To the locker at Temple Meads" in html and "Delivery to Bristol" not in html
    assert tracking.public()["destination"] == "To the locker at Temple Meads"
    assert tracking.area is None, "a locker is its own public place: no area of the home"


def test_the_area_holds_the_stop_but_is_the_same_for_its_whole_cell_and_never_precise() -> None:
    rng = random.Random(19)
    same = 0
    for _ in range(2_000):
        lat, lng = rng.uniform(-60, 60), rng.uniform(-179, 179)
        area = approximate_area(lat, lng)
        assert great_circle_m(area.lat, area.lng, lat, lng) <= area.radius_m, "holds the stop"
        assert 200 <= area.radius_m <= 400
        # Rounded to the cell's precision: the address's own decimals are not in it.
        assert area.lat == round(area.lat, AREA_DECIMALS)
        assert area.lng == round(area.lng, AREA_DECIMALS)
        # A neighbour a few metres away gets the same circle (unless a cell edge falls
        # between them), so many orders to one street narrow nothing down.
        same += approximate_area(lat + 2e-5, lng + 2e-5) == area
    assert same > 1_950
    # Two addresses of one cell share it; the circle is not centred on either.
    a, b = approximate_area(51.5238, -0.1586), approximate_area(51.5221, -0.1601)
    assert a == b
    assert great_circle_m(a.lat, a.lng, 51.5238, -0.1586) > 50
    assert "51.5238" not in json.dumps(a.__dict__) and "-0.1586" not in json.dumps(a.__dict__)


def test_the_van_is_its_last_accepted_fix_rounded_and_none_before_one() -> None:
    route = a_route(a_stop("x"))
    assert van_position(route) is None and van_position(None) is None
    fixed = replace(route, last_fix=Fix(51.501234, -0.098765, "2025-07-01T10:00:00Z", "r"))
    van = van_position(fixed)
    assert van is not None and (van.lat, van.lng) == (51.501, -0.099)


def test_the_sketch_draws_van_stops_and_area_inside_its_frame() -> None:
    area = approximate_area(51.5238, -0.1586)
    van = van_position(replace(a_route(), last_fix=Fix(51.51, -0.12, "2025-07-01T10:00:00Z", "r")))
    drawn = sketch(area, van, Point(51.4975, -0.0637), 3)
    assert drawn is not None and drawn.area is not None and drawn.van and drawn.depot
    assert len(drawn.stops) == 3
    for x, y in (drawn.van, drawn.depot, drawn.area[:2], *drawn.stops):
        assert 0 <= x <= drawn.width and 0 <= y <= drawn.height
    # North up: the area is north of the depot, so drawn above it.
    assert drawn.area[1] < drawn.depot[1]
    assert sketch(None, None, None, None) is None


def out_with_a_van(**changes: object) -> page.Tracking:
    order = an_order_with_distinctive_pii(
        status=S.OUT_FOR_DELIVERY, route_id="rte_abc_000", eta="2025-07-01T10:42:00Z", **changes
    )
    route = replace(
        a_route(a_stop("x"), a_stop(order.order_id)),
        last_fix=Fix(51.5012, -0.0987, "2025-07-01T10:00:00Z", "r"),
    )

    class Orders:
        def by_tracking_code(self, code: str) -> tuple[object, list[TimelineEvent]]:
            return order, FAILED_THEN_READY[:4]

    return page.find(order.tracking_code, Orders(), RecordingRoutes(route))  # type: ignore[arg-type]


def test_the_page_and_its_twin_show_van_area_and_brand_and_nothing_private() -> None:
    merchant = Merchant(
        "mer_secret_merchant",
        "Demo Goods Ltd",
        "dep_1",
        "2025-01-01T00:00:00Z",
        brand=Brand("Demo Goods", "#0b6e4f", "https://help.example.com/delivery"),
    )
    tracking = page.with_merchant(out_with_a_van(), merchant)
    assert tracking.stops_before == 1 and tracking.van is not None
    view = tracking.public()
    assert view["van"] == {"lat": 51.501, "lng": -0.099, "at": "2025-07-01T10:00:00Z"}
    assert view["area"]["radius_m"] >= 200
    assert view["merchant"] == {
        "name": "Demo Goods",
        "colour": "#0b6e4f",
        "help_url": "https://help.example.com/delivery",
    }
    html = page.render_page(tracking, base_url=BASE)
    for text in (json.dumps(view), html):
        for private in PRIVATE:
            assert private not in text, private
    assert 'id="sketch-van"' in html and 'id="sketch-area"' in html
    assert html.count('class="stop"') == 1
    assert 'id="merchant">Demo Goods<' in html
    assert 'href="https://help.example.com/delivery"' in html
    # The colour is the page's second style, allowed by its own hash.
    styles = re.findall(r"<style>(.*?)</style>", html, re.S)
    assert styles[1] == ":root{--brand:#0b6e4f}"
    policy = page.page_headers(tracking)["Content-Security-Policy"]
    assert page.headers(styles[1]) == page.page_headers(tracking)
    assert policy.count("'sha256-") == 3  # the stylesheet, the colour, the script
    # No brand set: the merchant's own name, the house colour.
    plain = page.with_merchant(out_with_a_van(), replace(merchant, brand=Brand()))
    assert plain.public()["merchant"] == {"name": "Demo Goods Ltd"}
    assert page.brand_style(plain.brand) is None
    html = page.render_page(plain, base_url=BASE)
    assert 'id="merchant">Demo Goods Ltd<' in html and 'id="help"' not in html
    assert len(re.findall(r"<style>", html)) == 1


def test_a_window_is_never_said_to_open_before_the_van_leaves() -> None:
    order = an_order_with_distinctive_pii(
        status=S.PLANNED, route_id="rte_abc_000", eta="2025-07-01T09:00:00Z"
    )
    stop = replace(a_stop(order.order_id), eta="2025-07-01T10:40:00Z")
    late_start = replace(a_route(stop), start_at="2025-07-01T10:30:00Z")
    shown = with_route_eta(order, late_start)
    assert (shown.eta, shown.eta_from, shown.eta_to) == (
        "2025-07-01T10:40:00Z",
        "2025-07-01T10:30:00Z",
        "2025-07-01T11:10:00Z",
    )


def test_brand_help_links_are_https_with_a_host() -> None:
    assert is_https_url("https://help.example.com/x?y=1")
    for bad in ("http://help.example.com", "javascript:alert(1)", "https://", "https://[::1", "x"):
        assert not is_https_url(bad), bad
    merchant = Merchant("m", "Shop", "d", "t")
    assert public_brand(merchant).fields() == {"name": "Shop"}


def test_with_tiles_the_page_draws_a_map_over_its_sketch_from_this_sites_maplibre() -> None:
    tiles = MapTiles.amazon_location("eu-west-2", "v1.public.k/ey+")
    assert tiles.origin == "https://maps.geo.eu-west-2.amazonaws.com"
    assert tiles.style_url == (
        "https://maps.geo.eu-west-2.amazonaws.com/v2/styles/Standard/descriptor"
        "?key=v1.public.k/ey%2B"
    )
    tracking = out_with_a_van()
    html = page.render_page(tracking, base_url=BASE, tiles=tiles)
    box = re.search(r'<div id="map"[^>]*>', html)
    assert box is not None and " hidden " in box.group(0), "hidden until the map has drawn"
    # MapLibre is loaded by the page's script once there is something to draw.
    assert re.search(r"<script[^>]*\ssrc=", html) is None
    assert f'data-script="../static/{MAPLIBRE}-csp.js"' in box.group(0)
    assert f'<link rel="stylesheet" href="../static/{MAPLIBRE}.css">' in html
    assert 'id="sketch"' in html, "the sketch stays for no script and no WebGL"
    shown = json.loads(re.search(r"data-features='([^']*)'", html).group(1))  # type: ignore[union-attr]
    assert [f["properties"]["kind"] for f in shown["features"]] == ["area", "stop", "van", "depot"]
    # The one stop before yours, halfway between the van and the area's centre (as the sketch
    # draws it: not where that stop is).
    area, van = tracking.area, tracking.van
    assert area is not None and van is not None
    [stop] = [
        f["geometry"]["coordinates"] for f in shown["features"] if f["properties"]["kind"] == "stop"
    ]
    assert stop == [round((van.lng + area.lng) / 2, 5), round((van.lat + area.lat) / 2, 5)]
    for private in PRIVATE:
        assert private not in html, private
    policy = page.page_headers(tracking, tiles)["Content-Security-Policy"]
    assert f"img-src 'self' data: blob: {tiles.origin};" in policy
    # Before the parcel is on a route the page has no map yet, but its policy allows the
    # tiles and the proof photos' store: the page's script swaps them in without a reload.
    waiting = page.Tracking(an_order_with_distinctive_pii(status=S.READY), FAILED_THEN_READY[:2])
    photos = "https://proofs.s3.example.com"
    early = page.page_headers(waiting, tiles, photos)["Content-Security-Policy"]
    assert f"img-src 'self' data: blob: {tiles.origin} {photos};" in early
    assert f"connect-src 'self' {tiles.origin};" in early
    done = page.Tracking(an_order_with_distinctive_pii(status=S.DELIVERED), FAILED_THEN_READY[:2])
    assert photos not in page.page_headers(done, tiles, photos)["Content-Security-Policy"]
    assert f"connect-src 'self' {tiles.origin};" in policy
    assert "script-src 'self' 'sha256-" in policy and "worker-src 'self'" in policy
    assert "unsafe" not in policy and "*" not in policy
    # No tiles (the local runtime): no map, no library, the strict policy.
    plain = page.render_page(tracking, base_url=BASE)
    assert 'id="map"' not in plain and "static/" not in plain
    assert "script-src 'sha256-" in page.page_headers(tracking)["Content-Security-Policy"]
    with pytest.raises(ValueError):
        MapTiles.amazon_location("eu-west-2/../x", "k")
    # Elsewhere (AWS_ENDPOINT_URL_GEO_MAPS): the same call at that origin, which the policy names.
    there = MapTiles.amazon_location("eu-west-2", "k", endpoint="http://127.0.0.1:9911/any/path")
    assert there.origin == "http://127.0.0.1:9911"
    assert there.style_url == "http://127.0.0.1:9911/v2/styles/Standard/descriptor?key=k"
    for bad in ("ftp://maps.example", "maps.example", "https://"):
        with pytest.raises(ValueError):
            MapTiles.amazon_location("eu-west-2", "k", endpoint=bad)


def test_only_the_vendored_maplibre_files_are_served() -> None:
    for name, kind in STATIC_FILES.items():
        found = static_file(name)
        assert found is not None and found[0] == kind and len(found[1]) > 10_000
    assert "sourceMappingURL" not in static_file(f"{MAPLIBRE}-csp.js")[1]  # type: ignore[index]
    for name in ("../page.py", "maplibre-gl-LICENSE.txt", "style.css", ""):
        assert static_file(name) is None, name


def test_a_proof_with_a_safe_place_and_no_photo_renders() -> None:
    order = an_order_with_distinctive_pii(status=S.DELIVERED)
    delivered = [event("11:00", S.DELIVERED, "order.delivered")]
    html = page.render_page(
        page.Tracking(order, delivered, proof={"safe_place": "front porch"}), base_url=BASE
    )
    assert 'id="safe-place">Left at: front porch<' in html and 'id="proof-photo"' not in html
    assert 'id="proof"' not in page.render_page(page.Tracking(order, delivered), base_url=BASE)


def test_a_proof_with_only_who_received_it_shows_them_on_the_page_and_in_the_twin() -> None:
    order = an_order_with_distinctive_pii(status=S.DELIVERED)
    delivered = [event("11:00", S.DELIVERED, "order.delivered")]
    tracking = page.Tracking(order, delivered, proof={"received_by": "Grace"})
    html = page.render_page(tracking, base_url=BASE)
    assert 'id="received-by">Received by Grace<' in html
    assert 'id="safe-place"' not in html and 'id="proof-photo"' not in html
    assert tracking.public()["proof"] == {"received_by": "Grace"}


def test_the_page_and_its_twin_carry_one_version_that_moves_only_with_what_is_shown() -> None:
    tracking = out_with_a_van()
    twin = tracking.public()
    html = page.render_page(tracking, base_url=BASE)
    assert f'data-version="{twin["version"]}"' in html, "the script compares the two"
    live = re.search(r'<section class="card" id="live"[^>]*>', html)
    assert live is not None and "data-final" not in live.group(0)
    moved = replace(tracking, van=replace(tracking.van, lat=51.6))  # type: ignore[type-var]
    assert moved.public()["version"] != twin["version"], "the van moved"
    later = replace(tracking, van=replace(tracking.van, at="2099-01-01T00:00:00Z"))  # type: ignore[type-var]
    assert later.public()["version"] == twin["version"], "a ping where it stood: nothing to show"
    closer = replace(tracking, stops_before=0)
    assert closer.public()["version"] != twin["version"], "a stop fewer"
    assert replace(tracking).public()["version"] == twin["version"], "same state, same version"
    # A presigned photo URL differs at every read: it does not move the version.
    delivered = replace(tracking, order=replace(tracking.order, status=S.DELIVERED))
    one = replace(delivered, proof={"photo_url": "https://s3.example/p?sig=1"}).public()
    two = replace(delivered, proof={"photo_url": "https://s3.example/p?sig=2"}).public()
    assert one["version"] == two["version"] != delivered.public()["version"]
    done = re.search(
        r'<section class="card" id="live"[^>]*>', page.render_page(delivered, base_url=BASE)
    )
    assert done is not None and " data-final" in done.group(0), "final: the script stops asking"
    # A split order's page lists its other shipments: it asks on while one of them moves.
    split = replace(delivered, shipments=(("AAA", S.DELIVERED), ("BBB", S.OUT_FOR_DELIVERY)))
    asking = re.search(
        r'<section class="card" id="live"[^>]*>', page.render_page(split, base_url=BASE)
    )
    assert asking is not None and "data-final" not in asking.group(0)
    all_done = replace(split, shipments=(("AAA", S.DELIVERED), ("BBB", S.DELIVERED)))
    assert " data-final" in page.render_page(all_done, base_url=BASE)


def test_a_proof_handed_to_someone_not_named_says_so_and_names_nobody() -> None:
    order = an_order_with_distinctive_pii(status=S.DELIVERED)
    delivered = [event("11:00", S.DELIVERED, "order.delivered")]
    html = page.render_page(
        page.Tracking(order, delivered, proof={"handed_over": True}), base_url=BASE
    )
    assert 'id="received-by">Handed over at the door<' in html
