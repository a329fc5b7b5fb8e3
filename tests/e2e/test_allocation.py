"""Allocation over HTTP: a merchant served by two depots with stock; each order from the depot
holding its lines, a split order's shipments on one tracking page, orders no depot can serve
held for the merchant (told by webhook, never dispatched), and Shopify's inventory webhook."""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from standardwebhooks.webhooks import Webhook

from tests.builders import an_order, shopify_headers
from tests.e2e.conftest import DEPOT_AT, Runtime
from tests.e2e.test_dispatch import wait_for

SECRET = "shpss_allocation_e2e_secret"
LOCATION, ITEM = "655441491", "271878346596"


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def shop(runtime: Runtime) -> dict[str, Any]:
    """Depot `near` at the tests' depot (a van), `north` 11 km north; 20 km areas each. MUG is
    only at `near`, BOWL only at `north`, GLASS tracked but out everywhere."""
    near = runtime.depot("Alloc near", vans=1)
    put = runtime.admin(
        "PUT", f"/v1/depots/{near}/fulfilment", json={"service_area": {"radius_km": 20}}
    )
    assert put.status_code == 200, put.text
    north = runtime.admin(
        "POST",
        "/v1/depots",
        json={
            "name": "Alloc north",
            "lat": DEPOT_AT[0] + 0.1,
            "lng": DEPOT_AT[1],
            "timezone": "Europe/London",
            "fulfilment": {"service_area": {"radius_km": 20}},
        },
    )
    assert north.status_code == 201, north.text
    north_id = north.json()["depot_id"]
    merchant = runtime.admin(
        "POST",
        "/v1/merchants",
        json={
            "name": "Two Depots Ltd",
            "depot_id": near,
            "depot_ids": [near, north_id],
            "shopify_secret": SECRET,
        },
    )
    assert merchant.status_code == 201, merchant.text
    for depot_id, items in (
        (near, [("MUG", 5), ("BOWL", 0), ("GLASS", 0)]),
        (north_id, [("BOWL", 3), ("MUG", 0), ("GLASS", 0)]),
    ):
        body = {
            "merchant_id": merchant.json()["merchant_id"],
            "items": [{"sku": sku, "quantity": q} for sku, q in items],
        }
        stocked = runtime.admin("PUT", f"/v1/depots/{depot_id}/stock", json=body)
        assert stocked.status_code == 200, stocked.text
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    key = merchant.json()["api_key"]
    url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    endpoint = runtime.merchant(key, "POST", "/v1/webhook-endpoints", json={"url": url})
    assert endpoint.status_code == 201, endpoint.text
    yield merchant.json() | {
        "near": near,
        "north": north_id,
        "endpoint_secret": endpoint.json()["secret"],
    }
    server.shutdown()


def order(runtime: Runtime, shop: dict, name: str, lat: float, lines: list) -> dict:
    address = an_order()["address"] | {"lat": lat, "lng": DEPOT_AT[1]}
    body = an_order(external_id=f"{name}-{uuid.uuid4().hex[:8]}", address=address, lines=lines)
    created = runtime.merchant(shop["api_key"], "POST", "/v1/orders", json=body)
    assert created.status_code == 201, created.text
    return dict(created.json())


def stock(runtime: Runtime, depot_id: str) -> dict[str, dict]:
    answer = runtime.admin("GET", f"/v1/depots/{depot_id}/stock")
    assert answer.status_code == 200, answer.text
    found: dict[str, dict] = {}
    for item in answer.json()["items"]:
        assert item.pop("merchant_id")
        found[item["sku"]] = item
    return found


def events_of(secret: str, order_id: str) -> list[dict]:
    found = []
    for headers, body in list(_Receiver.received):
        payload = Webhook(secret).verify(body, headers)
        if payload["data"]["order_id"] == order_id:
            found.append(payload)
    return found


def test_orders_go_to_the_depot_holding_them_split_or_held(runtime: Runtime, shop: dict) -> None:
    mug = order(runtime, shop, "mug", DEPOT_AT[0] + 0.01, [{"sku": "MUG", "quantity": 1}])
    bowl = order(runtime, shop, "bowl", DEPOT_AT[0] + 0.09, [{"sku": "BOWL", "quantity": 1}])
    assert (mug["depot_id"], mug["status"]) == (shop["near"], "ready")
    assert (bowl["depot_id"], bowl["status"]) == (shop["north"], "ready")
    assert stock(runtime, shop["near"])["MUG"] == {"sku": "MUG", "quantity": 4, "reserved": 1}
    assert stock(runtime, shop["north"])["BOWL"] == {"sku": "BOWL", "quantity": 2, "reserved": 1}

    # Neither depot holds both: two shipments, each its own order id and tracking code.
    both = order(
        runtime,
        shop,
        "both",
        DEPOT_AT[0] + 0.04,  # nearer the near depot: its shipment is the first
        [{"sku": "MUG", "quantity": 2}, {"sku": "BOWL", "quantity": 1}],
    )
    assert len(both["shipments"]) == 2 and both["shipments"][0] == both["order_id"]
    other_id = both["shipments"][1]
    other = runtime.merchant(shop["api_key"], "GET", f"/v1/orders/{other_id}").json()
    assert other["shipment_of"] == both["order_id"]
    assert (both["depot_id"], other["depot_id"]) == (shop["near"], shop["north"])
    assert [line["sku"] for line in both["lines"]] == ["MUG"]
    assert [line["sku"] for line in other["lines"]] == ["BOWL"]
    codes = [both["tracking_code"], other["tracking_code"]]
    for code in codes:
        public = requests.get(runtime.url(f"/v1/track/{code}"), timeout=30)
        assert public.status_code == 200, public.text
        assert public.json()["shipments"] == [
            {"tracking_code": c, "status": "ready"} for c in codes
        ]
        assert "Baker Street" not in public.text and "NW1" not in public.text
    html = requests.get(runtime.url(f"/track/{codes[0]}"), timeout=30)
    assert html.status_code == 200
    assert "comes in 2 parcels" in html.text and f'href="{codes[1]}"' in html.text

    # Edinburgh is nobody's area; GLASS is nobody's stock: held, told, nothing reserved.
    away = order(runtime, shop, "away", 55.9507, [{"sku": "MUG", "quantity": 1}])
    short = order(runtime, shop, "short", DEPOT_AT[0] + 0.01, [{"sku": "GLASS", "quantity": 1}])
    for held, reason in ((away, "out_of_area"), (short, "out_of_stock")):
        detail = runtime.merchant(shop["api_key"], "GET", f"/v1/orders/{held['order_id']}")
        assert (detail.json()["status"], detail.json()["attention_reason"]) == (
            "needs_attention",
            reason,
        )
        assert detail.json()["reserved"] == []
    assert stock(runtime, shop["near"])["MUG"] == {"sku": "MUG", "quantity": 2, "reserved": 3}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(
        any(e["type"] == "order.needs_attention" for e in events_of(shop["endpoint_secret"], i))
        for i in (away["order_id"], short["order_id"])
    ):
        time.sleep(0.25)
    for held, reason in ((away, "out_of_area"), (short, "out_of_stock")):
        told = [
            e
            for e in events_of(shop["endpoint_secret"], held["order_id"])
            if e["type"] == "order.needs_attention"
        ]
        assert [(e["data"]["status"], e["data"]["reason"]) for e in told] == [
            ("needs_attention", reason)
        ]

    # The near depot's run plans what it holds and never the held orders.
    started = runtime.admin("POST", f"/v1/depots/{shop['near']}/dispatch")
    assert started.status_code == 202, started.text
    run = wait_for(runtime, started.json()["run_id"])
    assert run["status"] == "succeeded", run
    planned = {stop["order_id"] for route in run["routes"] for stop in route["stops"]}
    passed = {entry["order_id"] for entry in run["unassigned"]}
    assert {mug["order_id"], both["order_id"]} <= planned
    assert not {away["order_id"], short["order_id"], bowl["order_id"], other_id} & (
        planned | passed
    )


def inventory(runtime: Runtime, shop: dict, body: bytes, secret: str = SECRET) -> Any:
    headers = shopify_headers(secret, body, topic="inventory_levels/update", event_id="inv-1")
    return requests.post(
        runtime.url(f"/v1/webhooks/shopify/{shop['merchant_id']}"),
        data=body,
        headers=headers,
        timeout=30,
    )


def level_body(available: int, updated_at: str) -> bytes:
    payload = {
        "inventory_item_id": int(ITEM),
        "location_id": int(LOCATION),
        "available": available,
        "updated_at": updated_at,
        "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{LOCATION}?inventory_item_id={ITEM}",
    }
    return json.dumps(payload).encode()


def test_shopify_inventory_levels_update_the_mapped_depots_stock(
    runtime: Runtime, shop: dict
) -> None:
    mapped = runtime.admin(
        "PUT",
        f"/v1/merchants/{shop['merchant_id']}/shopify-inventory",
        json={"locations": {LOCATION: shop["north"]}, "items": {ITEM: "CUP"}},
    )
    assert mapped.status_code == 200, mapped.text
    elsewhere = runtime.admin(
        "PUT",
        f"/v1/merchants/{shop['merchant_id']}/shopify-inventory",
        json={"locations": {LOCATION: runtime.demo["depot_id"]}, "items": {}},
    )
    assert elsewhere.status_code == 422
    assert elsewhere.json()["error"]["field"] == f"locations.{LOCATION}"

    applied = inventory(runtime, shop, level_body(9, "2030-06-03T10:00:00-04:00"))
    assert applied.status_code == 200, applied.text
    assert applied.json()["outcome"] == "updated"
    assert stock(runtime, shop["north"])["CUP"] == {"sku": "CUP", "quantity": 9, "reserved": 0}

    forged = inventory(runtime, shop, level_body(500, "2030-06-03T11:00:00-04:00"), "wrong")
    assert forged.status_code == 401
    assert forged.json()["error"]["code"] == "invalid_signature"
    older = inventory(runtime, shop, level_body(1, "2030-06-03T09:00:00-04:00"))
    assert older.json()["outcome"] == "stale"
    assert stock(runtime, shop["north"])["CUP"]["quantity"] == 9

    # An order now finds the CUPs Shopify says are there.
    cup = order(runtime, shop, "cup", DEPOT_AT[0] + 0.09, [{"sku": "CUP", "quantity": 2}])
    assert (cup["depot_id"], cup["status"]) == (shop["north"], "ready")
    assert stock(runtime, shop["north"])["CUP"] == {"sku": "CUP", "quantity": 7, "reserved": 2}


def test_two_merchants_at_one_depot_never_share_a_skus_stock(runtime: Runtime, shop: dict) -> None:
    """SKUs are each merchant's own names: another merchant's MUG at the same depot is another
    level, and stock is set only for a merchant the depot serves."""
    near = shop["near"]
    other = runtime.admin("POST", "/v1/merchants", json={"name": "Mugs Too", "depot_id": near})
    assert other.status_code == 201, other.text
    other_id, other_key = other.json()["merchant_id"], other.json()["api_key"]
    put = runtime.admin(
        "PUT",
        f"/v1/depots/{near}/stock",
        json={"merchant_id": other_id, "items": [{"sku": "MUG", "quantity": 1}]},
    )
    assert put.status_code == 200, put.text
    shop_mug = runtime.admin(
        "GET", f"/v1/depots/{near}/stock", params={"merchant_id": shop["merchant_id"]}
    ).json()["items"]
    assert [i["sku"] for i in shop_mug if i["sku"] == "MUG"] == ["MUG"]
    shop_free = next(i["quantity"] for i in shop_mug if i["sku"] == "MUG")

    address = an_order()["address"] | {"lat": DEPOT_AT[0], "lng": DEPOT_AT[1]}
    lines = [{"sku": "MUG", "quantity": 1}]
    for expected in ("ready", "needs_attention"):
        body = an_order(external_id=f"mt-{uuid.uuid4().hex[:8]}", address=address, lines=lines)
        created = runtime.merchant(other_key, "POST", "/v1/orders", json=body)
        assert created.status_code == 201, created.text
        assert created.json()["status"] == expected, created.text

    other_levels = runtime.admin(
        "GET", f"/v1/depots/{near}/stock", params={"merchant_id": other_id}
    ).json()["items"]
    assert other_levels == [{"merchant_id": other_id, "sku": "MUG", "quantity": 0, "reserved": 1}]
    shop_after = runtime.admin(
        "GET", f"/v1/depots/{near}/stock", params={"merchant_id": shop["merchant_id"]}
    ).json()["items"]
    assert next(i["quantity"] for i in shop_after if i["sku"] == "MUG") == shop_free
    whole = runtime.admin("GET", f"/v1/depots/{near}/stock").json()["items"]
    assert {i["merchant_id"] for i in whole if i["sku"] == "MUG"} == {shop["merchant_id"], other_id}

    north_only = runtime.admin(
        "PUT",
        f"/v1/depots/{shop['north']}/stock",
        json={"merchant_id": other_id, "items": [{"sku": "MUG", "quantity": 5}]},
    )
    assert north_only.status_code == 422, north_only.text
    assert north_only.json()["error"]["field"] == "merchant_id"


def test_fulfilment_settings_are_checked_by_field_and_read_back(runtime: Runtime) -> None:
    depot = runtime.depot("Alloc polygon")
    box = [[-0.2, 51.45], [0.0, 51.45], [0.0, 51.55], [-0.2, 51.55], [-0.2, 51.45]]
    settings = {
        "service_area": {"geojson": {"type": "Polygon", "coordinates": [box]}},
        "daily_capacity": {"parcels": 40},
        "cutoff": "14:00",
        "cutoffs": {"sun": None},
    }
    put = runtime.admin("PUT", f"/v1/depots/{depot}/fulfilment", json=settings)
    assert put.status_code == 200, put.text
    read = runtime.admin("GET", f"/v1/depots/{depot}/fulfilment")
    assert read.json() == {"depot_id": depot, "fulfilment": settings}
    for bad, field in (
        (
            {"service_area": {"geojson": {"type": "Polygon", "coordinates": [box[:-1]]}}},
            "service_area.geojson.coordinates.0",
        ),
        (
            {"service_area": {"radius_km": 5, "geojson": settings["service_area"]["geojson"]}},
            "service_area.radius_km",
        ),
        ({"cutoff": "25:00"}, "cutoff"),
        ({"daily_capacity": {}}, "daily_capacity.orders"),
    ):
        refused = runtime.admin("PUT", f"/v1/depots/{depot}/fulfilment", json=bad)
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.json()["error"]["field"] == field
    assert runtime.admin("GET", f"/v1/depots/{depot}/fulfilment").json() == read.json()
    missing = runtime.admin(
        "PUT",
        "/v1/depots/dep_none/stock",
        json={"merchant_id": "m_none", "items": [{"sku": "A", "quantity": 1}]},
    )
    assert missing.status_code == 404
