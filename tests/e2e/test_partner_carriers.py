"""Overflow to partner carriers over HTTP: a depot whose fleet is one van of one parcel hands the
orders it cannot take to Uber Direct's stand-in (quoted, accepted under the depot's maximum),
whose signed status webhooks then move each order as our own vans would; a bad signature, a
stale or a duplicated status changes nothing; a cancel sends the order back to our next run;
an outage delays the handoff, which then happens once."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from tests.builders import an_order
from tests.e2e.conftest import DEPOT_AT, Runtime
from tests.e2e.test_dispatch import wait_for
from tests.e2e.test_notifications import PHONE, messages_for

UBER = "uber_direct"


def until(check: Callable[[], Any], seconds: float = 60, what: str = "") -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"not within {seconds} s: {what}")


def overflow_shop(runtime: Runtime, orders: int, max_amount: int = 1200) -> dict[str, Any]:
    """A depot of one van that carries one parcel, Uber Direct as its carrier, a merchant, and
    `orders` one-parcel orders near the depot; one dispatch run over them."""
    depot_id = runtime.depot(f"Small {uuid.uuid4().hex[:6]}", vans=1, parcels=1)
    carriers = {
        "carriers": [{"carrier": UBER, "max_price": {"amount": max_amount, "currency": "GBP"}}]
    }
    put = runtime.admin("PUT", f"/v1/depots/{depot_id}/carriers", json=carriers)
    assert put.status_code == 200, put.text
    assert put.json()["carriers"] == [{**carriers["carriers"][0], "enabled": True}]
    merchant = runtime.admin(
        "POST", "/v1/merchants", json={"name": "Busy Shop", "depot_id": depot_id}
    )
    assert merchant.status_code == 201, merchant.text
    key = merchant.json()["api_key"]
    ids = []
    for n in range(orders):
        address = an_order()["address"] | {"lat": DEPOT_AT[0] + 0.01 * (n + 1), "lng": DEPOT_AT[1]}
        customer = an_order()["customer"] | {"phone": PHONE}
        body = an_order(
            external_id=f"ovf-{uuid.uuid4().hex[:8]}", address=address, customer=customer
        )
        created = runtime.merchant(key, "POST", "/v1/orders", json=body)
        assert created.status_code == 201, created.text
        ids.append(created.json()["order_id"])
    return {"depot_id": depot_id, "key": key, "orders": ids}


def dispatch(runtime: Runtime, depot_id: str) -> dict[str, Any]:
    started = runtime.admin("POST", f"/v1/depots/{depot_id}/dispatch")
    assert started.status_code == 202, started.text
    run = wait_for(runtime, started.json()["run_id"])
    assert run["status"] == "succeeded", run
    return run


def order_of(runtime: Runtime, shop: dict[str, Any], order_id: str) -> dict[str, Any]:
    found = runtime.merchant(shop["key"], "GET", f"/v1/orders/{order_id}")
    assert found.status_code == 200, found.text
    return dict(found.json())


def handed(runtime: Runtime, shop: dict[str, Any], run: dict[str, Any]) -> list[dict[str, Any]]:
    """The orders the run left out as capacity_short, once each has a carrier."""
    left = [u["order_id"] for u in run["unassigned"] if u["reason"] == "capacity_short"]
    assert left, run["unassigned"]

    def all_handed() -> list[dict[str, Any]] | None:
        orders = [order_of(runtime, shop, order_id) for order_id in left]
        return orders if all("carrier" in o for o in orders) else None

    return list(until(all_handed, 60, "every overflow order handed to the carrier"))


def send(runtime: Runtime, job_id: str, status: str, **extra: Any) -> list[int]:
    answer = runtime.admin(  # local routes need no key; the header is harmless
        "POST",
        f"/local/carriers/{UBER}/deliveries/{job_id}/status",
        json={"status": status, **extra},
    )
    assert answer.status_code == 200, answer.text
    return list(answer.json()["answers"])


def carrier_calls(runtime: Runtime, order_id: str) -> list[dict[str, Any]]:
    calls = runtime.admin("GET", "/local/carriers/requests").json()["requests"]
    return [c for c in calls if order_id in json.dumps(c["body"])]


@pytest.fixture(scope="module")
def shop(runtime: Runtime) -> dict[str, Any]:
    made = overflow_shop(runtime, orders=3)
    made["run"] = dispatch(runtime, made["depot_id"])
    made["handed"] = handed(runtime, made, made["run"])
    return made


def test_overflow_orders_are_quoted_and_accepted_by_the_carrier(
    runtime: Runtime, shop: dict[str, Any]
) -> None:
    assert len(shop["handed"]) == 2, "one van of one parcel takes one of the three orders"
    for order in shop["handed"]:
        assert order["status"] == "planned"
        carrier = order["carrier"]
        assert carrier["name"] == UBER and carrier["status"] == "pending"
        assert carrier["job_id"].startswith("del_") and carrier["quote_id"].startswith("dqt_")
        assert carrier["fee"] == {"amount": 850, "currency": "GBP"}
        assert order["eta"]
        calls = carrier_calls(runtime, order["order_id"])
        creates = [c for c in calls if c["path"].endswith("/deliveries")]
        assert len(creates) == 1 and creates[0]["body"]["quote_id"] == carrier["quote_id"]
        assert creates[0]["body"]["idempotency_key"] == order["order_id"]


def test_the_carriers_webhooks_deliver_the_order_and_tell_the_customer(
    runtime: Runtime, shop: dict[str, Any]
) -> None:
    order = shop["handed"][0]
    order_id, job_id = order["order_id"], order["carrier"]["job_id"]
    body = json.dumps(
        {"kind": "event.delivery_status", "status": "delivered", "delivery_id": job_id}
    )
    for headers in ({}, {"x-uber-signature": "0" * 64}):  # missing, then bad
        forged = runtime.admin(
            "POST",
            f"/v1/webhooks/carriers/{UBER}",
            data=body,
            headers=headers | {"Content-Type": "application/json"},
        )
        assert forged.status_code == 401, forged.text
        assert forged.json()["error"]["code"]
    assert order_of(runtime, shop, order_id)["status"] == "planned"  # nothing changed

    assert send(runtime, job_id, "pickup") == [200]
    assert send(runtime, job_id, "pickup_complete", courier={"lat": 51.505, "lng": -0.119}) == [200]
    out = order_of(runtime, shop, order_id)
    assert out["status"] == "out_for_delivery" and out["carrier"]["status"] == "pickup_complete"
    tracked = runtime.admin("GET", f"/v1/track/{out['tracking_code']}").json()
    # The courier shows where a van would (rounded as a van's fix is).
    assert tracked["van"]["lat"] == 51.505 and tracked["van"]["lng"] == -0.119

    assert send(runtime, job_id, "pickup") == [200]  # older: out of order
    assert order_of(runtime, shop, order_id)["carrier"]["status"] == "pickup_complete"
    assert send(runtime, job_id, "delivered") == [200]
    assert send(runtime, job_id, "delivered") == [200]  # a duplicate
    assert send(runtime, job_id, "dropoff") == [200]  # after the ending
    done = order_of(runtime, shop, order_id)
    assert done["status"] == "delivered" and done["carrier"]["status"] == "delivered"
    assert done["carrier"]["fee"] == {"amount": 850, "currency": "GBP"}
    steps = [e["type"] for e in done["timeline"]]
    assert steps.count("order.out_for_delivery") == 1 and steps.count("order.delivered") == 1

    # confirmed, planned (with the carrier's ETA), out for delivery, delivered: each once on
    # each channel, as for an order on our own van.
    sent = messages_for(runtime, order_id, expected=8)
    assert Counter(m["channel"] for m in sent) == {"email": 4, "sms": 4}, sent
    subjects = [m["subject"] for m in sent if m["channel"] == "email"]
    assert sum("out for delivery" in s for s in subjects) == 1, subjects
    assert sum("has been delivered" in s for s in subjects) == 1, subjects


def test_a_carrier_that_cancels_sends_the_order_back_to_our_next_run(
    runtime: Runtime, shop: dict[str, Any]
) -> None:
    order = shop["handed"][1]
    assert send(runtime, order["carrier"]["job_id"], "canceled") == [200]
    back = order_of(runtime, shop, order["order_id"])
    assert back["status"] == "ready"
    assert back["unassigned_reason"] == "carrier_cancelled"
    assert "carrier" not in back
    assert send(runtime, order["carrier"]["job_id"], "pickup_complete") == [200]  # stale job
    assert order_of(runtime, shop, order["order_id"])["status"] == "ready"


def test_a_carrier_outage_delays_the_handoff_which_then_happens_once(runtime: Runtime) -> None:
    made = overflow_shop(runtime, orders=2)
    before = len(runtime.admin("GET", "/local/carriers/requests").json()["requests"])
    down = runtime.admin(
        "POST", "/local/vendors/carriers/outage", json={"status": 503, "seconds": 15}
    )
    assert down.status_code == 200, down.text
    run = dispatch(runtime, made["depot_id"])
    [left] = [u["order_id"] for u in run["unassigned"] if u["reason"] == "capacity_short"]
    [order] = handed(runtime, made, run)
    assert order["order_id"] == left
    assert order["status"] == "planned" and order["carrier"]["name"] == UBER
    calls = runtime.admin("GET", "/local/carriers/requests").json()["requests"][before:]
    refused = [c for c in calls if c["status"] == 503]
    assert len(refused) >= 2, "the handoff was tried during the outage and retried"
    creates = [c for c in calls if c["path"].endswith("/deliveries") and c["status"] == 200]
    assert [c["body"]["external_id"] for c in creates] == [left], "handed on once"
    assert calls.index(creates[0]) > calls.index(refused[-1]), "after the outage"


def test_a_merchants_cancel_calls_the_carriers_courier_off(runtime: Runtime) -> None:
    made = overflow_shop(runtime, orders=2)
    [order] = handed(runtime, made, dispatch(runtime, made["depot_id"]))
    job_id = order["carrier"]["job_id"]

    cancelled = runtime.merchant(made["key"], "POST", f"/v1/orders/{order['order_id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"

    def called_off() -> list[dict[str, Any]] | None:
        calls = runtime.admin("GET", "/local/carriers/requests").json()["requests"]
        found = [c for c in calls if c["path"].endswith(f"/deliveries/{job_id}/cancel")]
        return found or None

    [call] = until(called_off, 60, "the courier called off")
    assert call["method"] == "POST" and call["status"] == 200
    # The carrier's own word of it afterwards changes nothing: the order stays cancelled.
    assert send(runtime, job_id, "canceled") == [200]
    assert order_of(runtime, made, order["order_id"])["status"] == "cancelled"
