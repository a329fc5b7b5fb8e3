"""Usage billing over HTTP: delivered parcels reported to Stripe Billing (the local stand-in)
as one meter event per parcel, through the outbox, exactly once across a Stripe outage."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import requests

from tests.builders import an_order
from tests.e2e.conftest import Runtime
from tests.e2e.test_dispatch import wait_for
from tests.e2e.test_driver_events import post

PARCELS_PER_ORDER = 5
ORDERS = 20  # 100 parcels


def _meter_events(runtime: Runtime, customer: str) -> list[dict[str, Any]]:
    calls = requests.get(runtime.url("/local/stripe/requests"), timeout=30).json()["requests"]
    return [
        c
        for c in calls
        if c["path"] == "/v1/billing/meter_events"
        and c["params"]["payload"]["stripe_customer_id"] == customer
    ]


def test_100_delivered_parcels_are_100_meter_events_across_a_stripe_outage(
    runtime: Runtime,
) -> None:
    depot = runtime.depot("Billing depot", vans=1, parcels=200)
    merchant = runtime.admin("POST", "/v1/merchants", json={"name": "Billed", "depot_id": depot})
    assert merchant.status_code == 201, merchant.text
    key, merchant_id = merchant.json()["api_key"], merchant.json()["merchant_id"]
    customer = "cus_e2e" + merchant_id.removeprefix("mer_")
    billing = runtime.admin(
        "PUT",
        f"/v1/merchants/{merchant_id}/billing",
        json={
            "stripe_customer_id": customer,
            "price_per_parcel": {"amount": 35, "currency": "eur"},
        },
    )
    assert billing.status_code == 200, billing.text
    assert billing.json()["price_per_parcel"] == {"amount": 35, "currency": "EUR"}
    other_currency = runtime.admin(
        "PUT",
        f"/v1/merchants/{merchant_id}/billing",
        json={
            "stripe_customer_id": customer,
            "price_per_parcel": {"amount": 35, "currency": "USD"},
        },
    )
    assert other_currency.status_code == 409, other_currency.text

    for n in range(ORDERS):
        body = an_order(external_id=f"bill-{n}")
        body["address"] |= {"lat": 51.5 + 0.002 * (n + 1), "lng": -0.12 + 0.001 * n}
        body["parcels"] = [{"weight_kg": 1.0}] * PARCELS_PER_ORDER
        created = runtime.merchant(key, "POST", "/v1/orders", json=body)
        assert created.status_code == 201, created.text
    run = wait_for(runtime, runtime.admin("POST", f"/v1/depots/{depot}/dispatch").json()["run_id"])
    assert run["status"] == "succeeded", run
    [route] = run["routes"]
    assert len(route["stops"]) == ORDERS

    # Stripe is down while the parcels are delivered: every first report fails.
    down = requests.post(
        runtime.url("/local/vendors/stripe/outage"),
        json={"status": 503, "seconds": 120},
        timeout=30,
    )
    assert down.status_code == 200, down.text
    assert post(runtime, route, type="departed", event_id="bill-dep").status_code == 202
    for stop in route["stops"]:
        done = post(
            runtime,
            route,
            type="delivered",
            event_id=f"d-{stop['order_id']}",
            order_id=stop["order_id"],
        )
        assert done.status_code == 202, done.text
        # The driver's phone retries: the same event again changes nothing.
        again = post(
            runtime,
            route,
            type="delivered",
            event_id=f"d-{stop['order_id']}",
            order_id=stop["order_id"],
        )
        assert again.json()["outcome"] == "duplicate"

    # Once reports have met the outage, Stripe recovers (within the retries' two hours: here
    # the local schedule's half a minute) and the parked reports go through.
    deadline = time.monotonic() + 60
    while not [e for e in _meter_events(runtime, customer) if e["status"] == 503]:
        assert time.monotonic() < deadline, "no report met the outage"
        time.sleep(0.5)
    up = requests.post(
        runtime.url("/local/vendors/stripe/outage"), json={"status": 503, "seconds": 0}, timeout=30
    )
    assert up.status_code == 200, up.text

    month = time.strftime("%Y-%m", time.gmtime())
    deadline = time.monotonic() + 90
    usage: dict[str, Any] = {}
    while time.monotonic() < deadline:
        usage = runtime.merchant(key, "GET", f"/v1/usage?month={month}").json()
        if usage.get("reported_to_stripe") == ORDERS * PARCELS_PER_ORDER:
            break
        time.sleep(1)
    assert usage == {
        "month": month,
        "delivered_parcels": 100,
        "amount": 3500,
        "currency": "EUR",
        "reported_to_stripe": 100,
    }, usage

    events = _meter_events(runtime, customer)
    failed = [e for e in events if e["status"] == 503]
    assert failed, "the outage met some reports (or the test proved nothing)"
    accepted = Counter(e["params"]["identifier"] for e in events if e["status"] == 200)
    assert len(accepted) == 100 and set(accepted.values()) == {1}, accepted
    assert all(e["idempotency_key"] == e["params"]["identifier"] for e in events)
    assert {e["params"]["payload"]["value"] for e in events} == {"1"}
    # Quiet afterwards: nothing more is reported for these parcels.
    time.sleep(2)
    assert len(_meter_events(runtime, customer)) == len(events)


def test_usage_needs_a_month_and_a_merchant_key(runtime: Runtime) -> None:
    key = runtime.demo["api_key"]
    assert runtime.merchant(key, "GET", "/v1/usage").status_code == 422
    assert runtime.merchant(key, "GET", "/v1/usage?month=2026-13").status_code == 422
    assert runtime.merchant("lm_wrong", "GET", "/v1/usage?month=2026-01").status_code == 401
    empty = runtime.merchant(key, "GET", "/v1/usage?month=2001-01")
    assert empty.json()["delivered_parcels"] == 0
    merchant_key = runtime.admin(
        "PUT",
        f"/v1/merchants/{runtime.demo['merchant_id']}/billing",
        headers={"Authorization": f"Bearer {key}"},
        json={"stripe_customer_id": "cus_x", "price_per_parcel": {"amount": 1, "currency": "EUR"}},
    )
    assert merchant_key.status_code == 401, "setting billing is the operator's"
    unknown = runtime.admin(
        "PUT",
        "/v1/merchants/mer_nobody/billing",
        json={"stripe_customer_id": "cus_x", "price_per_parcel": {"amount": 1, "currency": "EUR"}},
    )
    assert unknown.status_code == 404
