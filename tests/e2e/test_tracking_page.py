"""The public tracking page over HTTP, as a customer's phone opens it: HTML with first name and
city only, the van's progress once it has left, 404 as HTML, and a per-client rate limit."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest
import requests

from chalicelib.domain.geo import great_circle_m
from tests.builders import an_order
from tests.e2e.conftest import Runtime
from tests.e2e.test_driver_events import dispatched, post

PRIVATE = ("Zanzibarovic", "Quokka Lane", "ZZ9 9ZZ", "zed.private@example.com", "7700900999")
LOCAL_CLIENT = "127.0.0.1"  # chalice's local server gives every request this sourceIp


def counters(runtime: Runtime) -> tuple[Any, list[dict[str, Any]]]:
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=runtime.info["aws_endpoint"],
        region_name=runtime.info["region"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    # Every page: a scan reads 1 MB at a time, and the shared runtime's table is larger.
    pages = dynamodb.get_paginator("scan").paginate(
        TableName="lastmile-main",
        FilterExpression="begins_with(pk, :p)",
        ExpressionAttributeValues={":p": {"S": f"RATE#track#{LOCAL_CLIENT}#"}},
    )
    return dynamodb, [item for page in pages for item in page["Items"]]


def forget_counters(runtime: Runtime) -> None:
    dynamodb, items = counters(runtime)
    for item in items:
        dynamodb.delete_item(TableName="lastmile-main", Key={"pk": item["pk"], "sk": item["sk"]})


@pytest.fixture(autouse=True)
def fresh_minute(runtime: Runtime) -> Iterator[None]:
    """Every request of the test session comes from one local IP: start each test with a fresh
    count, and leave none behind for tests that run after."""
    forget_counters(runtime)
    yield
    forget_counters(runtime)


def page(runtime: Runtime, code: str) -> requests.Response:
    return requests.get(runtime.url(f"/track/{code}"), timeout=10)


def test_the_page_of_a_new_order_shows_first_name_and_city_and_nothing_private(
    runtime: Runtime,
) -> None:
    body = an_order(
        external_id="track-page-1",
        customer={
            "name": "Zed Zanzibarovic",
            "email": "zed.private@example.com",
            "phone": "+447700900999",
        },
    )
    body["address"] |= {"line1": "77 Quokka Lane", "city": "Bristol", "postcode": "ZZ9 9ZZ"}
    key = runtime.demo["api_key"]
    created = runtime.merchant(key, "POST", "/v1/orders", json=body)
    assert created.status_code == 201, created.text
    order = runtime.merchant(key, "GET", f"/v1/orders/{created.json()['order_id']}").json()

    response = page(runtime, order["tracking_code"])
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    html = response.text
    assert "Hello Zed," in html and "Bristol" in html
    assert "Waiting to be scheduled" in html
    assert 'src="data:image/svg+xml' in html, "an inline QR code"
    for private in (*PRIVATE, order["order_id"], runtime.demo["merchant_id"]):
        assert private not in html, private

    twin = requests.get(runtime.url(f"/v1/track/{order['tracking_code']}"), timeout=10)
    assert twin.json()["first_name"] == "Zed"
    for private in PRIVATE:
        assert private not in twin.text, private


def test_an_unknown_code_is_a_404_page_in_html(runtime: Runtime) -> None:
    response = page(runtime, "NOSUCHCODE000000")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "We could not find this parcel" in response.text


def test_once_the_van_has_left_the_page_counts_the_stops_before_yours(runtime: Runtime) -> None:
    found = dispatched(runtime, vehicles=1, orders=3)
    [route] = found["run"]["routes"]
    first, _, third = (s["order_id"] for s in route["stops"])
    code = runtime.merchant(found["api_key"], "GET", f"/v1/orders/{third}").json()["tracking_code"]
    planned = page(runtime, code).text
    assert "Scheduled for delivery" in planned and 'id="progress"' not in planned
    assert 'id="sketch-area"' in planned and 'id="sketch-van"' not in planned, "no van yet"
    assert re.search(r"between \d\d:\d\d and \d\d:\d\d", planned), "an ETA window"
    assert "Times in Europe/London" in planned

    assert post(runtime, route, type="departed", event_id="trk-dep").status_code == 202
    html = page(runtime, code).text
    assert "Out for delivery" in html
    assert "2 stops before yours" in html
    twin = requests.get(runtime.url(f"/v1/track/{code}"), timeout=10).json()
    assert twin["stops_before"] == 2
    assert "van" not in twin, "no fix yet: no van on the map"
    ping = post(runtime, route, type="location", event_id="trk-ping", lat=51.5012, lng=-0.1187)
    assert ping.status_code == 202, ping.text
    twin = requests.get(runtime.url(f"/v1/track/{code}"), timeout=10).json()
    assert {k: twin["van"][k] for k in ("lat", "lng")} == {"lat": 51.501, "lng": -0.119}
    # The area holds the order's address, centred elsewhere.
    address = runtime.merchant(found["api_key"], "GET", f"/v1/orders/{third}").json()["address"]
    at = (address["lat"], address["lng"])
    area = twin["area"]
    assert great_circle_m(area["lat"], area["lng"], *at) <= area["radius_m"]
    assert (area["lat"], area["lng"]) != at
    html = page(runtime, code).text
    assert 'id="sketch-van"' in html and 'id="sketch-area"' in html
    assert html.count('class="stop"') == 2, "the two stops before, as dots"
    assert (
        set(twin["eta_window"]) == {"start", "end"}
        and twin["eta_window"]["start"] < twin["eta_window"]["end"]
    )

    delivered = post(
        runtime,
        route,
        type="delivered",
        event_id="trk-dlv",
        order_id=first,
        proof={"recipient_name": "Grace", "safe_place": "porch"},
    )
    assert delivered.status_code == 202, delivered.text
    assert "1 stop before yours" in page(runtime, code).text
    for private in ("Hopper", "Baker Street", "NW1 6XE", "grace@example.com", "7700900456"):
        assert private not in html


def test_the_61st_request_of_a_minute_from_one_client_is_429(runtime: Runtime) -> None:
    for _attempt in range(2):  # a burst that straddles a minute boundary is tried once more
        forget_counters(runtime)
        minute = int(time.time() // 60)
        urls = [runtime.url(f"/track/NOSUCHCODE{n:06d}") for n in range(30)]
        urls += [runtime.url(f"/v1/track/NOSUCHCODE{n:06d}") for n in range(30)]
        with requests.Session() as session:
            statuses = [session.get(url, timeout=10).status_code for url in urls]
            html = session.get(runtime.url("/track/NOSUCHCODE999999"), timeout=10)
            json_twin = session.get(runtime.url("/v1/track/NOSUCHCODE999999"), timeout=10)
        if int(time.time() // 60) == minute:
            break
    assert statuses == [404] * 60, "unknown codes, within the limit"
    assert html.status_code == 429
    assert html.headers["Content-Type"] == "text/html; charset=utf-8"
    assert 1 <= int(html.headers["Retry-After"]) <= 60
    assert json_twin.status_code == 429
    assert json_twin.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(json_twin.headers["Retry-After"]) <= 60
    _, [counter] = counters(runtime)
    assert counter["hits"] == {"N": "60"}
    assert int(counter["expires_at"]["N"]) > time.time(), "the counter expires by TTL"


# -- rating after delivery, another day after a failed attempt --------------------------------

ZED = ("Zanzibarovic", "Quokka Lane", "ZZ9 9ZZ", "zed.private@example.com", "7700900999")


def a_private_order(external_id: str, lat: float, lng: float) -> dict[str, Any]:
    """An order whose private details are distinctive enough to be searched for in a page."""
    body = an_order(
        external_id=external_id,
        customer={
            "name": "Zed Zanzibarovic",
            "email": "zed.private@example.com",
            "phone": "+447700900999",
        },
    )
    body["address"] |= {
        "line1": "77 Quokka Lane",
        "city": "Bristol",
        "postcode": "ZZ9 9ZZ",
        "lat": lat,
        "lng": lng,
    }
    return body


def delivered_and_failed(runtime: Runtime) -> dict[str, str]:
    """Two orders of Zed's on one dispatched route in a London depot: the first delivered, the
    second failed (not home) and so back to ready; their tracking codes."""
    found = dispatched(runtime, vehicles=1, orders=2, make_order=a_private_order)
    run, key = found["run"], found["api_key"]
    codes = [o["tracking_code"] for o in found["orders"]]
    [route] = run["routes"]
    assert post(runtime, route, type="departed", event_id="z-dep").status_code == 202
    by_code = {}
    for stop in route["stops"]:
        found = runtime.merchant(key, "GET", f"/v1/orders/{stop['order_id']}").json()
        by_code[found["tracking_code"]] = stop["order_id"]
    delivered_id, failed_id = by_code[codes[0]], by_code[codes[1]]
    done = post(runtime, route, type="delivered", event_id="z-dlv", order_id=delivered_id)
    assert done.status_code == 202, done.text
    missed = post(
        runtime, route, type="failed", event_id="z-fail", order_id=failed_id, reason="not_home"
    )
    assert missed.status_code == 202 and missed.json()["status"] == "ready", missed.text
    return {"delivered": codes[0], "failed": codes[1], "api_key": key, "failed_id": failed_id}


@pytest.fixture(scope="module")
def zeds(runtime: Runtime) -> dict[str, str]:
    return delivered_and_failed(runtime)


def form(runtime: Runtime, code: str, action: str, **fields: Any) -> requests.Response:
    return requests.post(
        runtime.url(f"/track/{code}/{action}"), data=fields, allow_redirects=False, timeout=10
    )


def assert_nothing_private(html: str) -> None:
    for private in ZED:
        assert private not in html, private


def test_a_delivered_parcel_is_rated_once_from_the_page(
    runtime: Runtime, zeds: dict[str, str]
) -> None:
    code = zeds["delivered"]
    before = page(runtime, code)
    assert "How did we do?" in before.text and f'action="{code}/feedback"' in before.text
    assert "form-action 'self'" in before.headers["Content-Security-Policy"]
    assert_nothing_private(before.text)

    bad = form(runtime, code, "feedback", rating="9", comment="hm")
    assert bad.status_code == 422 and "text/html" in bad.headers["Content-Type"]
    assert "1 to 5" in bad.text and f'href="/track/{code}"' in bad.text
    too_long = form(runtime, code, "feedback", rating="4", comment="x" * 501)
    assert too_long.status_code == 422
    assert "How did we do?" in page(runtime, code).text, "nothing stored by a refusal"

    sent = form(runtime, code, "feedback", rating="4", comment="Friendly driver")
    assert sent.status_code == 303, sent.text
    assert sent.headers["Location"] == f"/track/{code}"
    after = page(runtime, code)
    assert "You rated this delivery 4 out of 5" in after.text and "How did we do?" not in after.text
    assert_nothing_private(after.text)

    again = form(runtime, code, "feedback", rating="1")
    assert again.status_code == 409
    assert "We already have your feedback" in again.text
    assert_nothing_private(again.text)
    twin = requests.post(runtime.url(f"/v1/track/{code}/feedback"), json={"rating": 2}, timeout=10)
    assert twin.status_code == 409 and twin.json()["error"]["code"] == "feedback_already_given"
    assert "4 out of 5" in page(runtime, code).text, "the first rating stays"


def test_the_json_twin_rates_and_refuses_bad_ratings_and_unfinished_parcels(
    runtime: Runtime, zeds: dict[str, str]
) -> None:
    url = runtime.url(f"/v1/track/{zeds['failed']}/feedback")
    assert requests.post(url, json={"rating": 5}, timeout=10).status_code == 409, "not delivered"
    for bad in (
        {"rating": 0},
        {"rating": 6},
        {"rating": "5"},
        {},
        {"rating": 3, "comment": "x" * 501},
    ):
        refused = requests.post(url, json=bad, timeout=10)
        assert refused.status_code == 422, (bad, refused.text)
    unknown = runtime.url("/v1/track/NOSUCHCODE000000/feedback")
    assert requests.post(unknown, json={"rating": 5}, timeout=10).status_code == 404
    assert form(runtime, "NOSUCHCODE000000", "feedback", rating="5").status_code == 404

    fresh = delivered_and_failed(runtime)["delivered"]
    rated = requests.post(
        runtime.url(f"/v1/track/{fresh}/feedback"),
        json={"rating": 5, "comment": "On time"},
        timeout=10,
    )
    assert rated.status_code == 201, rated.text
    assert rated.json()["rating"] == 5 and rated.json()["comment"] == "On time"
    assert "You rated this delivery 5 out of 5" in page(runtime, fresh).text


def test_after_a_failed_attempt_the_customer_chooses_another_day(
    runtime: Runtime, zeds: dict[str, str]
) -> None:
    code = zeds["failed"]
    html = page(runtime, code).text
    assert "Choose another day" in html and f'action="{code}/reschedule"' in html
    today = datetime.now(ZoneInfo("Europe/London")).date()
    offered = re.findall(r'<option value="(\d{4}-\d\d-\d\d)">', html)
    assert offered == [(today + timedelta(days=n)).isoformat() for n in range(1, 8)]
    assert "How did we do?" not in html, "nothing to rate before delivery"
    assert_nothing_private(html)
    assert form(runtime, zeds["delivered"], "reschedule", date=offered[0]).status_code == 409

    for outside in (today.isoformat(), (today + timedelta(days=8)).isoformat(), "soon"):
        refused = form(runtime, code, "reschedule", date=outside)
        assert refused.status_code == 422, (outside, refused.text)
        assert "text/html" in refused.headers["Content-Type"]
        assert_nothing_private(refused.text)

    chosen = today + timedelta(days=3)
    moved = form(runtime, code, "reschedule", date=chosen.isoformat())
    assert moved.status_code == 303, moved.text
    assert moved.headers["Location"] == f"/track/{code}"
    after = page(runtime, code).text
    assert f"We will come on {chosen:%a} {chosen.day} {chosen:%b}, between 08:00 and 20:00" in after
    assert_nothing_private(after)

    stored = runtime.merchant(zeds["api_key"], "GET", f"/v1/orders/{zeds['failed_id']}").json()
    window = stored["delivery"]["window"]
    start = datetime.fromisoformat(window["start"]).astimezone(ZoneInfo("Europe/London"))
    end = datetime.fromisoformat(window["end"]).astimezone(ZoneInfo("Europe/London"))
    assert (start.date(), start.hour, end.date(), end.hour) == (chosen, 8, chosen, 20)
    assert stored["timeline"][-1]["type"] == "order.rescheduled_by_customer"
    assert stored["status"] == "ready"
    twin = requests.get(runtime.url(f"/v1/track/{code}"), timeout=10)
    assert twin.json()["delivery"]["window"] == window
    assert_nothing_private(twin.text)


def test_the_map_library_is_served_from_here_cached_for_a_year(runtime: Runtime) -> None:
    script = requests.get(runtime.url("/static/maplibre-gl-4.7.1-csp.js"), timeout=10)
    assert script.status_code == 200
    assert script.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert script.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert script.text.startswith("/**\n * MapLibre GL JS")
    css = requests.get(runtime.url("/static/maplibre-gl-4.7.1.css"), timeout=10)
    assert css.headers["Content-Type"] == "text/css; charset=utf-8"
    for name in ("maplibre-gl-LICENSE.txt", "..%2Fpage.py", "nothing.js"):
        refused = requests.get(runtime.url(f"/static/{name}"), timeout=10)
        assert refused.status_code == 404, name
        assert refused.json()["error"]["code"] == "not_found"


def test_a_merchant_brands_its_pages_and_bad_values_are_refused_naming_the_field(
    runtime: Runtime,
) -> None:
    merchant = runtime.admin(
        "POST", "/v1/merchants", json={"name": "Branding Ltd", "depot_id": runtime.demo["depot_id"]}
    ).json()
    key = merchant["api_key"]
    for body, field in (
        ({"colour": "red"}, "colour"),
        ({"colour": "#12345g"}, "colour"),
        ({"help_url": "http://help.example.com"}, "help_url"),
        ({"help_url": "javascript:alert(1)"}, "help_url"),
        ({"display_name": ""}, "display_name"),
        ({"display_name": "x" * 81}, "display_name"),
        ({"logo": "x"}, "logo"),
    ):
        refused = runtime.merchant(key, "PUT", "/v1/brand", json=body)
        assert refused.status_code == 422, (body, refused.text)
        assert refused.json()["error"]["field"] == field, refused.text
    assert runtime.merchant(key, "GET", "/v1/brand").json() == {"brand": {}}, "nothing stored"
    assert (
        requests.put(runtime.url("/v1/brand"), json={"colour": "#000000"}, timeout=10).status_code
        == 401
    )
    brand = {"display_name": "Branding", "colour": "#0B6E4F", "help_url": "https://h.example/x"}
    stored = runtime.merchant(key, "PUT", "/v1/brand", json=brand)
    assert stored.status_code == 200
    assert stored.json() == {"brand": brand | {"colour": "#0b6e4f"}}
    created = runtime.merchant(key, "POST", "/v1/orders", json=an_order(external_id="branded-1"))
    code = created.json()["tracking_code"]
    html = page(runtime, code)
    assert 'id="merchant">Branding<' in html.text and ":root{--brand:#0b6e4f}" in html.text
    twin = requests.get(runtime.url(f"/v1/track/{code}"), timeout=10).json()
    assert twin["merchant"] == {
        "name": "Branding",
        "colour": "#0b6e4f",
        "help_url": "https://h.example/x",
    }
