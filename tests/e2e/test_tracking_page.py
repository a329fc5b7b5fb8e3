"""The public tracking page over HTTP, as a customer's phone opens it: HTML with first name and
city only, the van's progress once it has left, 404 as HTML, and a per-client rate limit."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests

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
    items = dynamodb.scan(
        TableName="lastmile-main",
        FilterExpression="begins_with(pk, :p)",
        ExpressionAttributeValues={":p": {"S": f"RATE#track#{LOCAL_CLIENT}#"}},
    )["Items"]
    return dynamodb, items


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
    assert response.headers["Referrer-Policy"] == "no-referrer"
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
    assert "Scheduled for delivery" in planned and "before yours" not in planned
    assert re.search(r"between \d\d:\d\d and \d\d:\d\d", planned), "an ETA window"
    assert "Times in Europe/London" in planned

    assert post(runtime, route, type="departed", event_id="trk-dep").status_code == 202
    html = page(runtime, code).text
    assert "Out for delivery" in html
    assert "2 stops before yours" in html
    twin = requests.get(runtime.url(f"/v1/track/{code}"), timeout=10).json()
    assert twin["stops_before"] == 2
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
