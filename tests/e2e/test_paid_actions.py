"""Paid customer actions over HTTP: when the merchant prices more time at a locker, the
tracking page's action answers with a Stripe Checkout session (the local stand-in) instead of
acting; Stripe's checkout.session.completed applies it once, even delivered twice; an
abandoned session changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests

from tests.e2e.conftest import Runtime
from tests.e2e.test_dispatch import wait_for
from tests.e2e.test_locker_choices import (
    HOME_LAT,
    HOME_LNG,
    a_locker,
    an_order_of_zeds,
    form,
    stored,
    twin,
)
from tests.e2e.test_tracking_page import forget_counters


@pytest.fixture(autouse=True)
def fresh_minute(runtime: Runtime) -> Iterator[None]:
    forget_counters(runtime)
    yield
    forget_counters(runtime)


@pytest.fixture(scope="module")
def priced_locker_parcel(runtime: Runtime) -> dict[str, Any]:
    """A parcel waiting in a locker, of a merchant that charges 4.50 EUR for more time."""
    depot = runtime.depot("Paid actions depot", vans=1)
    merchant = runtime.admin("POST", "/v1/merchants", json={"name": "Charges", "depot_id": depot})
    key = merchant.json()["api_key"]
    prices = {"currency": "EUR", "prices": {}, "actions": {"extension": 450}}
    assert runtime.merchant(key, "PUT", "/v1/price-list", json=prices).status_code == 200
    locker = a_locker(runtime, depot, "Paid Street", HOME_LAT - 0.001, HOME_LNG)
    order = an_order_of_zeds(runtime, key, type="locker", locker_id=locker["locker_id"])
    run = wait_for(runtime, runtime.admin("POST", f"/v1/depots/{depot}/dispatch").json()["run_id"])
    assert run["status"] == "succeeded", run
    deposited = requests.post(
        runtime.url(f"/v1/lockers/{locker['locker_id']}/deposits"),
        json={"order_id": order["order_id"]},
        headers={"Authorization": f"Bearer {locker['kiosk_key']}"},
        timeout=30,
    )
    assert deposited.status_code == 201, deposited.text
    return {"order": order, "api_key": key}


def _complete(runtime: Runtime, session_id: str, deliveries: int = 1) -> requests.Response:
    return requests.post(
        runtime.url(f"/local/stripe/checkout/sessions/{session_id}/complete"),
        json={"deliveries": deliveries},
        timeout=30,
    )


def test_a_paid_extension_happens_once_when_stripe_says_it_is_paid(
    runtime: Runtime, priced_locker_parcel: dict[str, Any]
) -> None:
    code = priced_locker_parcel["order"]["tracking_code"]
    before = twin(runtime, code).json()["delivery"]["locker"]
    assert before["extended"] is False

    asked = twin(runtime, code, "extension")
    assert asked.status_code == 402, asked.text
    checkout = asked.json()
    assert checkout["error"]["code"] == "payment_required"
    assert checkout["price"] == {"amount": 450, "currency": "EUR"}
    assert checkout["checkout_url"].endswith(checkout["session_id"])
    # The page's button leads to the same kind of session: a link (the page's CSP keeps its
    # forms posting to itself), and nothing changed yet.
    page_answer = form(runtime, code, "extension")
    assert page_answer.status_code == 200, page_answer.text
    assert 'id="pay"' in page_answer.text and "/c/pay/cs_test_" in page_answer.text
    assert "4.50 EUR" in page_answer.text
    assert twin(runtime, code).json()["delivery"]["locker"] == before

    calls = requests.get(runtime.url("/local/stripe/requests"), timeout=30).json()["requests"]
    made = [c for c in calls if c["path"] == "/v1/checkout/sessions"]
    assert made[-1]["params"]["line_items"][0]["price_data"]["unit_amount"] == "450"
    abandoned = page_answer.text.split("/c/pay/")[1].split('"')[0]
    assert requests.post(
        runtime.url(f"/local/stripe/checkout/sessions/{abandoned}/expire"), timeout=30
    ).ok

    paid = _complete(runtime, checkout["session_id"], deliveries=2)  # Stripe delivers twice
    assert paid.status_code == 200, paid.text
    first, second = paid.json()["webhook"]
    assert first["status"] == 200 and first["body"]["reason"] == "paid action applied", first
    assert second["status"] == 200 and second["body"]["outcome"] == "duplicate", second
    after = twin(runtime, code).json()["delivery"]["locker"]
    assert after["extended"] is True
    moved = datetime.fromisoformat(after["pickup_by"].replace("Z", "+00:00"))
    assert moved - datetime.fromisoformat(before["pickup_by"].replace("Z", "+00:00")) == timedelta(
        hours=48
    ), "48 more hours, once"
    # The abandoned session can never be paid; another ask is refused before anyone pays.
    assert _complete(runtime, abandoned).status_code == 400
    again = twin(runtime, code, "extension")
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_offered"
    order = stored(
        runtime, priced_locker_parcel["api_key"], priced_locker_parcel["order"]["order_id"]
    )
    assert order["status"] == "in_locker"
