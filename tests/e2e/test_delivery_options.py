"""Delivery options over HTTP: a quote holds each option's seats in its slot, an order carrying
the option id books them (window and price), a full slot is not offered, two customers racing
for the last room get one hold, and an expired hold gives its room back by itself."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from tests.builders import an_order
from tests.e2e.conftest import DEPOT_AT, Runtime, started_runtime
from tests.e2e.test_platform_intake import send_generic

PRICES = {
    "currency": "EUR",
    "prices": {"standard": 490, "express": 1290, "slot": 790},
    "weight_surcharges": [{"over_kg": 5, "amount": 300}],
}
SLOTS_ONLY = {"currency": "EUR", "prices": {"slot": 790}}
HERE = {"line1": "1 Tower Bridge Rd", "lat": DEPOT_AT[0] + 0.01, "lng": DEPOT_AT[1]}


def _merchant(runtime: Runtime, prices: dict[str, Any] | None) -> str:
    return str(_shop(runtime, prices)["api_key"])


def _shop(runtime: Runtime, prices: dict[str, Any] | None) -> dict[str, Any]:
    """A merchant of a depot of its own: one van of 50 parcels on a 10-hour shift from now, so
    each two-hour slot has 10 seats."""
    depot = runtime.depot("Options depot", vans=1, parcels=50)
    created = runtime.admin("POST", "/v1/merchants", json={"name": "Opts", "depot_id": depot})
    assert created.status_code == 201, created.text
    key = str(created.json()["api_key"])
    if prices is not None:
        put = runtime.merchant(key, "PUT", "/v1/price-list", json=prices)
        assert put.status_code == 200, put.text
    return dict(created.json())


def _quote(runtime: Runtime, key: str, parcels: int, kg: float = 1.0) -> list[dict[str, Any]]:
    answer = runtime.merchant(
        key,
        "POST",
        "/v1/delivery-options",
        json={"address": HERE, "parcels": [{"weight_kg": kg}] * parcels},
    )
    assert answer.status_code == 200, answer.text
    return list(answer.json()["options"])


def _slots(options: list[dict[str, Any]]) -> list[str]:
    return [o["window"]["start"] for o in options if o["type"] == "slot"]


def _order(option_id: str | None, external_id: str) -> dict[str, Any]:
    body = an_order(external_id=external_id)
    body["address"] |= {"lat": HERE["lat"], "lng": HERE["lng"]}
    body["delivery"] = {"type": "home", "option_id": option_id}
    return body


def test_a_quote_holds_and_an_order_redeems_its_option(
    runtime: Runtime, second_merchant: dict[str, str]
) -> None:
    key = _merchant(runtime, PRICES)
    options = _quote(runtime, key, 1)
    kinds = [o["type"] for o in options]
    assert kinds.count("standard") == 1 and kinds.count("express") == 1
    assert kinds.count("slot") >= 3, options
    now = datetime.now(UTC)
    for option in options:
        expires = datetime.fromisoformat(option["expires_at"].replace("Z", "+00:00"))
        assert timedelta(minutes=14) < expires - now <= timedelta(minutes=15, seconds=5)
        rate = option["stripe_shipping_rate_data"]
        assert rate["type"] == "fixed_amount"
        assert rate["fixed_amount"] == {"amount": option["price"]["amount"], "currency": "eur"}
        assert rate["metadata"] == {"lastmile_option_id": option["option_id"]}
    slot = next(o for o in options if o["type"] == "slot")
    assert slot["price"] == {"amount": 790, "currency": "EUR"}
    assert next(o for o in options if o["type"] == "express")["price"]["amount"] == 1290
    heavy = _quote(runtime, key, 2, kg=3.0)  # 6 kg: over the 5 kg band
    assert {o["price"]["amount"] for o in heavy if o["type"] == "slot"} == {1090}

    created = runtime.merchant(key, "POST", "/v1/orders", json=_order(slot["option_id"], "opt-1"))
    assert created.status_code == 201, created.text
    delivery = created.json()["delivery"]
    assert delivery["window"]["start"].startswith(slot["window"]["start"].removesuffix("Z"))
    assert delivery["price"] == {"amount": 790, "currency": "EUR"}
    assert delivery["option_id"] == slot["option_id"]

    again = runtime.merchant(key, "POST", "/v1/orders", json=_order(slot["option_id"], "opt-2"))
    assert again.status_code == 409 and again.json()["error"]["code"] == "option_expired"
    unknown = runtime.merchant(key, "POST", "/v1/orders", json=_order("opt_nothing", "opt-3"))
    assert unknown.status_code == 409 and unknown.json()["error"]["code"] == "option_expired"
    theirs = next(o for o in options if o["type"] == "standard")["option_id"]
    other = runtime.merchant(
        second_merchant["api_key"], "POST", "/v1/orders", json=_order(theirs, "opt-4")
    )
    assert other.status_code == 409, "another merchant's option redeems nothing"
    for refused in ("opt-2", "opt-3", "opt-4"):
        found = runtime.merchant(key, "GET", f"/v1/orders?external_id={refused}").json()
        assert found["orders"] == [], "a refused order writes nothing"

    unpriced = _merchant(runtime, None)
    answer = runtime.merchant(
        unpriced,
        "POST",
        "/v1/delivery-options",
        json={"address": HERE, "parcels": [{"weight_kg": 1}]},
    )
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "no_price_list"


def test_two_customers_racing_for_the_last_room_get_one_hold_and_a_full_slot_is_gone(
    runtime: Runtime,
) -> None:
    key = _merchant(runtime, SLOTS_ONLY)
    results: list[list[dict[str, Any]]] = []
    barrier = threading.Barrier(2)

    def customer() -> None:
        barrier.wait()
        results.append(_quote(runtime, key, 6))  # 6 + 6 parcels: more than a slot's 10 seats

    threads = [threading.Thread(target=customer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first, second = (_slots(r) for r in results)
    assert first or second
    assert not set(first) & set(second), "one slot held by both customers"
    every = set(first) | set(second)
    # What is left in every slot is 4 seats: 5 parcels get no slot, 4 get each of them.
    assert _slots(_quote(runtime, key, 5)) == []
    four = _slots(_quote(runtime, key, 4))
    assert set(four) == every
    assert _slots(_quote(runtime, key, 1)) == [], "full slots are not offered"


@pytest.fixture(scope="module")
def short_holds() -> Any:
    with started_runtime(LASTMILE_SEED="none", LASTMILE_OPTION_HOLD_S="3") as started:
        yield started


def test_an_expired_hold_gives_its_room_back_by_itself(short_holds: Runtime) -> None:
    key = _merchant(short_holds, SLOTS_ONLY)
    taken = _quote(short_holds, key, 10)
    assert _slots(taken), taken
    assert _slots(_quote(short_holds, key, 1)) == [], "every slot is held"
    time.sleep(4)  # the holds' 3 seconds pass; no TTL deletion has happened yet
    back = _slots(_quote(short_holds, key, 1))
    assert back == _slots(taken)
    late = short_holds.merchant(
        key, "POST", "/v1/orders", json=_order(taken[0]["option_id"], "late-1")
    )
    assert late.status_code == 409 and late.json()["error"]["code"] == "option_expired"


def test_a_storefronts_order_with_a_lapsed_option_is_kept_for_the_merchant(
    short_holds: Runtime,
) -> None:
    shop = _shop(short_holds, SLOTS_ONLY)
    [option, *_] = _quote(short_holds, shop["api_key"], 1)
    time.sleep(4)  # the hold lapses before the storefront's webhook arrives
    sent = send_generic(
        short_holds,
        shop,
        {"type": "order.created", "data": _order(option["option_id"], "lapsed-1")},
    )
    assert sent.status_code == 200, sent.text
    assert sent.json()["outcome"] == "created"
    order = short_holds.merchant(shop["api_key"], "GET", f"/v1/orders/{sent.json()['order_id']}")
    assert order.json()["status"] == "needs_attention"
    assert order.json()["attention_reason"] == "option_expired"
    assert order.json()["delivery"]["option_id"] == option["option_id"]
    assert "window" not in order.json()["delivery"], "no window it cannot keep"


def test_a_checkout_shipping_rate_redeems_its_option(runtime: Runtime) -> None:
    """The merchant's storefront offers the options as Checkout shipping options (the stripe
    SDK on the local stand-in, on its connected account); the customer pays with one; Stripe's
    checkout.session.completed books the option's window for the order."""
    import stripe

    depot = runtime.depot("Checkout depot", vans=1, parcels=50)
    account = "acct_opts" + depot.removeprefix("dep_")
    created = runtime.admin(
        "POST",
        "/v1/merchants",
        json={"name": "Checkout shop", "depot_id": depot, "stripe_account_id": account},
    )
    assert created.status_code == 201, created.text
    key = created.json()["api_key"]
    assert runtime.merchant(key, "PUT", "/v1/price-list", json=PRICES).status_code == 200
    options = _quote(runtime, key, 1)
    chosen = next(o for o in options if o["type"] == "slot")
    shop = stripe.StripeClient(
        "sk_test_merchant", base_addresses={"api": runtime.info["stripe_api_base"]}
    )
    session = shop.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "success_url": "https://shop.example/thanks",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": "eur",
                        "unit_amount": 2500,
                        "product_data": {"name": "Teapot"},
                    },
                }
            ],
            "shipping_address_collection": {"allowed_countries": ["GB"]},
            "shipping_options": [
                {"shipping_rate_data": o["stripe_shipping_rate_data"]}
                for o in (chosen, next(o for o in options if o["type"] == "standard"))
            ],
        },
        options={"stripe_account": account},
    )
    paid = requests.post(
        runtime.url(f"/local/stripe/checkout/sessions/{session.id}/complete"),
        json={
            "shipping_option": 0,
            "shipping": {
                "name": "Ada Lovelace",
                "address": {
                    "line1": "1 Tower Bridge Rd",
                    "city": "London",
                    "postal_code": "SE1 2UP",
                    "country": "GB",
                },
            },
        },
        timeout=30,
    )
    assert paid.status_code == 200, paid.text
    [webhook] = paid.json()["webhook"]
    assert webhook["status"] == 200, "".join(runtime.log[-60:])
    assert webhook["body"]["outcome"] == "created", webhook
    order = runtime.merchant(key, "GET", f"/v1/orders/{webhook['body']['order_id']}").json()
    assert order["delivery"]["option_id"] == chosen["option_id"]
    assert order["delivery"]["window"]["start"].startswith(
        chosen["window"]["start"].removesuffix("Z")
    )
    assert order["delivery"]["price"] == chosen["price"]
    calls = requests.get(runtime.url("/local/stripe/requests"), timeout=30).json()["requests"]
    assert any(c["path"].startswith("/v1/shipping_rates/shr_") for c in calls)


def test_a_locker_near_with_room_is_an_option_and_its_order_goes_to_that_locker(
    runtime: Runtime,
) -> None:
    depot = runtime.depot("Locker options depot", vans=1, parcels=50)
    locker = runtime.admin(
        "POST",
        "/v1/lockers",
        json={
            "name": "Options Locker",
            "lat": HERE["lat"] + 0.002,
            "lng": HERE["lng"],
            "depot_id": depot,
            "compartments": [{"compartment_id": "A1", "size": "M"}],
        },
    )
    assert locker.status_code == 201, locker.text
    created = runtime.admin("POST", "/v1/merchants", json={"name": "Lockers", "depot_id": depot})
    key = created.json()["api_key"]
    prices = {"currency": "EUR", "prices": {"standard": 490, "locker": 290}}
    assert runtime.merchant(key, "PUT", "/v1/price-list", json=prices).status_code == 200
    options = _quote(runtime, key, 1)
    [offered] = [o for o in options if o["type"] == "locker"]
    assert offered["locker"]["locker_id"] == locker.json()["locker_id"]
    assert offered["locker"]["name"] == "Options Locker"
    assert 150 < offered["locker"]["distance_m"] < 300
    assert offered["price"] == {"amount": 290, "currency": "EUR"}
    too_big = runtime.merchant(
        key,
        "POST",
        "/v1/delivery-options",
        json={"address": HERE, "parcels": [{"weight_kg": 1, "size": "L"}]},
    )
    assert "locker" not in [o["type"] for o in too_big.json()["options"]], "no L compartment"
    order = runtime.merchant(key, "POST", "/v1/orders", json=_order(offered["option_id"], "lk-1"))
    assert order.status_code == 201, order.text
    assert order.json()["delivery"]["type"] == "locker"
    assert order.json()["delivery"]["locker_id"] == locker.json()["locker_id"]
