"""Operators create tenants; merchants only ever reach their own orders."""

from __future__ import annotations

import json

import boto3
import requests

from tests.builders import an_order
from tests.e2e.conftest import Runtime


def test_operator_routes_need_the_operator_key(runtime: Runtime) -> None:
    body = {"name": "X", "lat": 0, "lng": 0, "timezone": "UTC"}
    assert requests.post(runtime.url("/v1/depots"), json=body, timeout=10).status_code == 401
    wrong = requests.post(
        runtime.url("/v1/depots"), json=body, headers={"Authorization": "Bearer nope"}, timeout=10
    )
    assert wrong.status_code == 401
    merchant_key = runtime.demo["api_key"]
    as_merchant = runtime.merchant(merchant_key, "POST", "/v1/depots", json=body)
    assert as_merchant.status_code == 401


def test_operator_creates_a_depot_and_a_merchant_with_keys_shown_once(runtime: Runtime) -> None:
    depot = runtime.admin(
        "POST",
        "/v1/depots",
        json={"name": "Manchester", "lat": 53.48, "lng": -2.24, "timezone": "Europe/London"},
    )
    assert depot.status_code == 201
    merchant = runtime.admin(
        "POST", "/v1/merchants", json={"name": "North Shop", "depot_id": depot.json()["depot_id"]}
    )
    assert merchant.status_code == 201
    created = merchant.json()
    assert created["merchant_id"].startswith("mer_")
    assert created["webhook_secret"].startswith("whsec_")
    assert runtime.merchant(created["api_key"], "GET", "/v1/orders").status_code == 200


def test_bad_operator_input_is_422_naming_the_field(runtime: Runtime) -> None:
    bad_zone = runtime.admin(
        "POST", "/v1/depots", json={"name": "X", "lat": 0, "lng": 0, "timezone": "Nowhere/Land"}
    )
    assert bad_zone.status_code == 422
    assert bad_zone.json()["error"]["field"] == "timezone"
    bad_lat = runtime.admin(
        "POST", "/v1/depots", json={"name": "X", "lat": 123, "lng": 0, "timezone": "UTC"}
    )
    assert bad_lat.status_code == 422
    assert bad_lat.json()["error"]["field"] == "lat"
    no_depot = runtime.admin("POST", "/v1/merchants", json={"name": "X", "depot_id": "dep_none"})
    assert no_depot.status_code == 422


def test_merchant_a_cannot_read_merchant_b_orders(
    runtime: Runtime, second_merchant: dict[str, str]
) -> None:
    created = runtime.merchant(
        runtime.demo["api_key"], "POST", "/v1/orders", json=an_order(external_id="tenant-a-1")
    )
    assert created.status_code == 201
    order_id = created.json()["order_id"]
    other = second_merchant["api_key"]
    assert runtime.merchant(other, "GET", f"/v1/orders/{order_id}").status_code == 404
    listed = runtime.merchant(other, "GET", "/v1/orders?external_id=tenant-a-1")
    assert listed.json()["orders"] == []
    assert runtime.merchant(runtime.demo["api_key"], "GET", f"/v1/orders/{order_id}").ok


def test_direct_api_validates_and_is_idempotent(runtime: Runtime) -> None:
    key = runtime.demo["api_key"]
    bad = runtime.merchant(key, "POST", "/v1/orders", json=an_order(parcels=[{"weight_kg": -1}]))
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "parcels.0.weight_kg"
    not_json = runtime.merchant(
        key, "POST", "/v1/orders", data=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 400
    headers = {"Idempotency-Key": "create-once-1"}
    body = an_order(external_id="idem-1")
    first = runtime.merchant(key, "POST", "/v1/orders", json=body, headers=headers)
    again = runtime.merchant(key, "POST", "/v1/orders", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["order_id"] == again.json()["order_id"]
    listed = runtime.merchant(key, "GET", "/v1/orders?external_id=idem-1").json()["orders"]
    assert len(listed) == 1


def test_no_merchant_key_is_401(runtime: Runtime) -> None:
    response = requests.get(runtime.url("/v1/orders"), timeout=10)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_local_outbox_route_exists_in_the_local_stage(runtime: Runtime) -> None:
    response = requests.get(runtime.url("/local/outbox"), timeout=10)
    assert response.status_code == 200
    assert isinstance(response.json()["messages"], list)


def test_openapi_is_served_and_describes_the_local_routes(runtime: Runtime) -> None:
    doc = requests.get(runtime.url("/openapi.json"), timeout=10).json()
    assert doc["openapi"] == "3.1.0"
    assert "/local/outbox" in doc["paths"]
    assert "/v1/webhooks/generic/{merchant_id}" in doc["paths"]


def test_operator_replaces_and_reads_a_depot_fleet(runtime: Runtime) -> None:
    depot = runtime.demo["depot_id"]
    seeded = runtime.admin("GET", f"/v1/depots/{depot}/vehicles").json()["vehicles"]
    assert {v["vehicle_id"] for v in seeded} == {"van-1", "van-2", "van-3", "bike-1"}
    shift = {"start": "2026-11-23T08:00:00+00:00", "end": "2026-11-23T16:00:00+00:00"}
    fleet = {
        "vehicles": [
            {
                "vehicle_id": "ev-1",
                "profile": "electric_van",
                "capacity": {"parcels": 90, "weight_kg": 600},
                "shift": shift,
            },
        ]
    }
    other_depot = runtime.admin(
        "POST", "/v1/depots", json={"name": "Fleet", "lat": 51, "lng": 0, "timezone": "UTC"}
    ).json()["depot_id"]
    put = runtime.admin("PUT", f"/v1/depots/{other_depot}/vehicles", json=fleet)
    assert put.status_code == 200
    got = runtime.admin("GET", f"/v1/depots/{other_depot}/vehicles").json()["vehicles"]
    defaults = {"skills": [], "max_trips": 1, "reload_minutes": 10}
    assert got == [fleet["vehicles"][0] | defaults | {"shift": shift | {"breaks": []}}]
    bad_shift = {
        "vehicles": [
            fleet["vehicles"][0] | {"shift": {"start": shift["end"], "end": shift["start"]}}
        ]
    }
    refused = runtime.admin("PUT", f"/v1/depots/{other_depot}/vehicles", json=bad_shift)
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "vehicles.0.shift.end"
    missing = runtime.admin("PUT", "/v1/depots/dep_nowhere/vehicles", json=fleet)
    assert missing.status_code == 404


def test_operator_connects_a_storefront_api_for_catch_up(runtime: Runtime) -> None:
    merchant = runtime.demo["merchant_id"]
    token = "shpat_e2e_connection_token"
    path = f"/v1/merchants/{merchant}/connections/shopify"
    body = {"shop": "demo-goods.myshopify.com", "access_token": token}

    stored = runtime.admin("PUT", path, json=body)
    assert stored.status_code == 204, stored.text
    assert token not in stored.text

    secrets = boto3.client(
        "secretsmanager",
        endpoint_url=runtime.info["aws_endpoint"],
        region_name=runtime.info["region"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    [name] = [s["Name"] for s in secrets.list_secrets()["SecretList"] if merchant in s["Name"]]
    kept = json.loads(secrets.get_secret_value(SecretId=name)["SecretString"])
    assert kept["shopify_api"] == body

    bad_shop = runtime.admin("PUT", path, json=body | {"shop": "evil.example.com"})
    assert (bad_shop.status_code, bad_shop.json()["error"]["field"]) == (422, "shop")
    plain_http = runtime.admin(
        "PUT",
        f"/v1/merchants/{merchant}/connections/woocommerce",
        json={"url": "http://shop.example", "consumer_key": "ck_1", "consumer_secret": "cs_1"},
    )
    assert (plain_http.status_code, plain_http.json()["error"]["field"]) == (422, "url")
    magento = runtime.admin("PUT", f"/v1/merchants/{merchant}/connections/magento", json={})
    assert magento.status_code == 422
    nobody = runtime.admin("PUT", "/v1/merchants/mer_nobody/connections/shopify", json=body)
    assert nobody.status_code == 404
    assert runtime.merchant(runtime.demo["api_key"], "PUT", path, json=body).status_code == 401
