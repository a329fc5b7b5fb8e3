"""Inputs a careless client or an attacker sends, against the operator, merchant and tracking
endpoints: each is refused with its 4xx in the one error shape, naming the field where there is
one, and nothing is written (read back through the API and, for new objects, the store)."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
import requests

from tests.builders import an_order
from tests.e2e.conftest import ADMIN_KEY, Runtime

SHIFT = {"start": "2030-06-01T08:00:00+00:00", "end": "2030-06-01T18:00:00+00:00"}
VAN = {
    "vehicle_id": "van-kept",
    "profile": "van",
    "capacity": {"parcels": 10, "weight_kg": 100},
    "shift": SHIFT,
}


@dataclass
class Bad:
    """One bad request: who sends it, where, what; the answer it must get."""

    name: str
    method: str
    path: str  # {depot_id}, {order_code} and {marker} are filled in
    body: bytes | None
    status: int
    code: str
    field: str | None = None
    who: str = "operator"  # operator | merchant | public
    headers: dict[str, str] = dataclasses.field(default_factory=dict)


def _json(data: Any) -> bytes:
    return json.dumps(data).encode()


def _order(marker: str, **changes: Any) -> dict[str, Any]:
    return an_order(external_id=marker) | changes


def _order_text(marker: str, weight: str) -> bytes:
    """An order whose first parcel's weight is `weight` exactly as written (JSON text)."""
    text = json.dumps(_order(marker, parcels=[{"weight_kg": 0.5}]))
    return text.replace('"weight_kg": 0.5', f'"weight_kg": {weight}').encode()


DEEP = 10_000
MULTIBYTE_ID = "ü" * 1500  # 1500 characters, 3000 bytes of UTF-8

CASES = [
    Bad(
        "tiny float (decimal.Underflow in DynamoDB)",
        "POST",
        "/v1/orders",
        _order_text("{marker}", "1e-200"),
        422,
        "validation_failed",
        "parcels.0.weight_kg",
        who="merchant",
    ),
    Bad(
        "1e400 as text (infinite)",
        "POST",
        "/v1/orders",
        _order_text("{marker}", "1e400"),
        422,
        "validation_failed",
        "parcels.0.weight_kg",
        who="merchant",
    ),
    Bad(
        "5000-digit integer",
        "POST",
        "/v1/orders",
        _order_text("{marker}", "7" * 5000),
        422,
        "validation_failed",
        "parcels.0.weight_kg",
        who="merchant",
    ),
    Bad(
        "NaN",
        "POST",
        "/v1/depots",
        b'{"name": "{marker}", "lat": NaN, "lng": 0, "timezone": "UTC"}',
        422,
        "validation_failed",
        "lat",
    ),
    Bad(
        "10000-deep nesting",
        "POST",
        "/v1/orders",
        _json(_order("{marker}"))[:-1] + b', "x": ' + b"[" * DEEP + b"]" * DEEP + b"}",
        400,
        "malformed_body",
        who="merchant",
    ),
    Bad(
        "not UTF-8",
        "POST",
        "/v1/merchants",
        b'{"name": "{marker} \xff\xfe", "depot_id": "{depot_id}"}',
        400,
        "malformed_body",
    ),
    Bad(
        "lone surrogate",
        "POST",
        "/v1/merchants",
        b'{"name": "{marker} \\ud800", "depot_id": "{depot_id}"}',
        422,
        "validation_failed",
        "name",
    ),
    Bad(
        "3000-byte multi-byte id in a body",
        "POST",
        "/v1/merchants",
        _json({"name": "{marker}", "depot_id": MULTIBYTE_ID}),
        422,
        "validation_failed",
        "depot_id",
    ),
    Bad(
        "3000-byte multi-byte id in a path",
        "PUT",
        f"/v1/depots/{MULTIBYTE_ID}/vehicles",
        _json({"vehicles": [VAN | {"vehicle_id": "{marker}"}]}),
        404,
        "not_found",
        "depot_id",
    ),
    Bad(
        "3000-byte external id in a query",
        "GET",
        f"/v1/orders?external_id={MULTIBYTE_ID}",
        None,
        422,
        "validation_failed",
        "external_id",
        who="merchant",
    ),
    Bad(
        "3000-byte locker id on the tracking API",
        "POST",
        "/v1/track/{order_code}/locker",
        _json({"locker_id": MULTIBYTE_ID}),
        422,
        "validation_failed",
        "locker_id",
        who="public",
    ),
    Bad(
        "year 9999",
        "PUT",
        "/v1/depots/{depot_id}/vehicles",
        _json(
            {
                "vehicles": [
                    VAN
                    | {
                        "vehicle_id": "{marker}",
                        "shift": {
                            "start": "9999-12-31T08:00:00+00:00",
                            "end": "9999-12-31T18:00:00+00:00",
                        },
                    }
                ]
            }
        ),
        422,
        "validation_failed",
        "vehicles.0.shift.start",
    ),
    Bad(
        "naive datetime",
        "PUT",
        "/v1/depots/{depot_id}/vehicles",
        _json(
            {
                "vehicles": [
                    VAN
                    | {
                        "vehicle_id": "{marker}",
                        "shift": {"start": "2030-06-01T08:00:00", "end": SHIFT["end"]},
                    }
                ]
            }
        ),
        422,
        "validation_failed",
        "vehicles.0.shift.start",
    ),
    Bad(
        "shift ending before it starts (model-level check names its field)",
        "PUT",
        "/v1/depots/{depot_id}/vehicles",
        _json({"vehicles": [VAN | {"shift": {"start": SHIFT["end"], "end": SHIFT["start"]}}]}),
        422,
        "validation_failed",
        "vehicles.0.shift.end",
    ),
    Bad(
        "a wave that is no time of day (model-level check names its field)",
        "PUT",
        "/v1/depots/{depot_id}/dispatch-policy",
        _json({"waves": ["06:15", "25:00"]}),
        422,
        "validation_failed",
        "waves.1",
    ),
    Bad(
        "tiny float in a nested number",
        "PUT",
        "/v1/depots/{depot_id}/dispatch-policy",
        b'{"weights": {"fixed_cost": 1e-200}}',
        422,
        "validation_failed",
        "weights.fixed_cost",
    ),
    Bad(
        "opening hours out of the day (model-level check names its field)",
        "POST",
        "/v1/lockers",
        _json(
            {
                "name": "{marker}",
                "lat": 51.5,
                "lng": -0.1,
                "depot_id": "{depot_id}",
                "compartments": [{"compartment_id": "A1", "size": "S"}],
                "opening_hours": [{"days": ["mon"], "open": "08:00", "close": "25:00"}],
            }
        ),
        422,
        "validation_failed",
        "opening_hours.0.close",
    ),
    Bad("empty PUT, fleet", "PUT", "/v1/depots/{depot_id}/vehicles", b"", 400, "malformed_body"),
    Bad(
        "empty PUT of a dispatch policy",
        "PUT",
        "/v1/depots/{depot_id}/dispatch-policy",
        None,
        400,
        "malformed_body",
    ),
    Bad(
        "empty PUT of notification preferences",
        "PUT",
        "/v1/notification-preferences",
        b"",
        400,
        "malformed_body",
        who="merchant",
    ),
    Bad(
        "empty PUT of a storefront connection",
        "PUT",
        "/v1/merchants/{merchant_id}/connections/shopify",
        b"",
        400,
        "malformed_body",
    ),
    Bad(
        "a credential past what a secret should hold",
        "PUT",
        "/v1/merchants/{merchant_id}/connections/shopify",
        _json({"shop": "fuzz.myshopify.com", "access_token": "{marker}" + "x" * 3000}),
        422,
        "validation_failed",
        "access_token",
    ),
    Bad(
        "wrong content type",
        "POST",
        "/v1/orders",
        _json(_order("{marker}")),
        415,
        "unsupported_media_type",
        who="merchant",
        headers={"Content-Type": "text/plain"},
    ),
    Bad(
        "wrong method",
        "DELETE",
        "/v1/orders",
        None,
        405,
        "method_not_allowed",
        who="merchant",
    ),
    Bad("unknown path", "GET", "/v1/{marker}", None, 404, "not_found", who="merchant"),
    Bad("unknown path, no key", "POST", "/v2/orders", b"{}", 404, "not_found", who="public"),
    Bad(
        "a rating of 5000 digits",
        "POST",
        "/v1/track/{order_code}/feedback",
        b'{"rating": ' + b"5" * 5000 + b', "comment": "{marker}"}',
        422,
        "validation_failed",
        "rating",
        who="public",
    ),
]


class Store:
    """Every item of every table, as text: what a refused request must not have added to."""

    def __init__(self, runtime: Runtime) -> None:
        self._db = boto3.client(
            "dynamodb",
            endpoint_url=runtime.info["aws_endpoint"],
            region_name=runtime.info["region"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def holds(self, *texts: str) -> bool:
        """Whether one item holds every one of `texts`."""
        for table in self._db.list_tables()["TableNames"]:
            for page in self._db.get_paginator("scan").paginate(TableName=table):
                for item in page["Items"]:
                    text = json.dumps(item)
                    if all(t in text for t in texts):
                        return True
        return False


@dataclass
class World:
    runtime: Runtime
    depot_id: str
    merchant_id: str
    api_key: str
    order_code: str
    store: Store

    def fleet(self) -> Any:
        return self.runtime.admin("GET", f"/v1/depots/{self.depot_id}/vehicles").json()

    def preferences(self) -> Any:
        return self.runtime.merchant(self.api_key, "GET", "/v1/notification-preferences").json()


@pytest.fixture(scope="module")
def world(runtime: Runtime) -> Iterator[World]:
    """A depot with one van and a policy, a merchant with one message switched off and one
    order: the state every refused request must leave as it was."""
    depot_id = runtime.depot("Bad input depot")
    put = runtime.admin("PUT", f"/v1/depots/{depot_id}/vehicles", json={"vehicles": [VAN]})
    assert put.status_code == 200, put.text
    policy = runtime.admin(
        "PUT", f"/v1/depots/{depot_id}/dispatch-policy", json={"waves": ["06:15"]}
    )
    assert policy.status_code == 200, policy.text
    merchant = runtime.admin(
        "POST", "/v1/merchants", json={"name": "Bad input shop", "depot_id": depot_id}
    )
    assert merchant.status_code == 201, merchant.text
    api_key = merchant.json()["api_key"]
    off = {"off": [{"type": "order.out_for_delivery", "channel": "sms"}]}
    assert runtime.merchant(api_key, "PUT", "/v1/notification-preferences", json=off).ok
    order = runtime.merchant(api_key, "POST", "/v1/orders", json=an_order(external_id="bad-1"))
    assert order.status_code == 201, order.text
    yield World(
        runtime,
        depot_id,
        merchant.json()["merchant_id"],
        api_key,
        order.json()["tracking_code"],
        Store(runtime),
    )


def _send(world: World, bad: Bad, marker: str) -> requests.Response:
    fill: dict[str, str] = {
        "{marker}": marker,
        "{depot_id}": world.depot_id,
        "{merchant_id}": world.merchant_id,
        "{order_code}": world.order_code,
    }
    path, body = bad.path, bad.body
    for placeholder, value in fill.items():
        path = path.replace(placeholder, value)
        body = body.replace(placeholder.encode(), value.encode()) if body is not None else None
    key = {"operator": ADMIN_KEY, "merchant": world.api_key}.get(bad.who)
    headers = {"Content-Type": "application/json"} | bad.headers
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return requests.request(
        bad.method, world.runtime.url(path), data=body, headers=headers, timeout=30
    )


@pytest.mark.parametrize("bad", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_refused_in_the_error_shape_and_writes_nothing(world: World, bad: Bad) -> None:
    marker = f"bad-{uuid.uuid4().hex[:12]}"
    fleet, preferences = world.fleet(), world.preferences()

    answer = _send(world, bad, marker)

    assert answer.status_code == bad.status, answer.text[:500]
    assert answer.headers["Content-Type"].startswith("application/json")
    error = answer.json()["error"]
    assert error["code"] == bad.code, error
    assert isinstance(error["message"], str) and error["message"], error
    if bad.field:
        assert error.get("field") == bad.field, error
        assert bad.field in error["message"], error
    assert world.fleet() == fleet, "the fleet changed"
    assert world.preferences() == preferences, "the notification preferences changed"
    assert not world.store.holds(marker), "something of the refused request was stored"


def test_an_empty_put_leaves_the_dispatch_policy_as_it_was(world: World) -> None:
    """No GET of the policy here: its waves are read back from the depot in the store."""
    assert world.store.holds(world.depot_id, '"06:15"')
    answer = world.runtime.admin("PUT", f"/v1/depots/{world.depot_id}/dispatch-policy")
    assert answer.status_code == 400
    assert world.store.holds(world.depot_id, '"06:15"'), "the policy was reset"


def test_the_largest_fleet_allowed_fits_its_one_item_and_one_vehicle_more_is_422(
    runtime: Runtime,
) -> None:
    """500 vehicles of the longest ids, times and skills: stored whole (DynamoDB's 400 KB)."""
    depot_id = runtime.depot("Largest fleet")
    shift = {"start": "2030-06-01T08:00:00.123456+14:00", "end": "2030-06-01T18:00:00.123456+14:00"}
    vehicle = VAN | {"profile": "electric_van", "shift": shift}
    skills = [f"skill-{n:02d}-abcdefg" for n in range(20)]  # 16 characters each
    fleet = [
        vehicle | {"vehicle_id": f"{n:03d}".ljust(64, "v"), "skills": skills} for n in range(500)
    ]
    put = runtime.admin("PUT", f"/v1/depots/{depot_id}/vehicles", json={"vehicles": fleet})
    assert put.status_code == 200, put.text[:500]
    stored = runtime.admin("GET", f"/v1/depots/{depot_id}/vehicles").json()["vehicles"]
    assert len(stored) == 500 and stored[499]["skills"] == skills
    one_more = [*fleet, vehicle | {"vehicle_id": "one-more"}]
    refused = runtime.admin("PUT", f"/v1/depots/{depot_id}/vehicles", json={"vehicles": one_more})
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "vehicles"
