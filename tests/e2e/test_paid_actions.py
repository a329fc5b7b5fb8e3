"""Paid customer actions over HTTP: when the merchant prices more time at a locker or another
day after a failed attempt, the tracking page's action answers with a Stripe Checkout session
(the local stand-in) instead of acting; Stripe's checkout.session.completed applies it once,
even delivered twice; an abandoned session changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

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
from tests.e2e.test_tracking_page import delivered_and_failed, forget_counters


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


def _sessions_made(runtime: Runtime) -> int:
    calls = requests.get(runtime.url("/local/stripe/requests"), timeout=30).json()["requests"]
    return sum(1 for c in calls if c["path"] == "/v1/checkout/sessions")


def test_another_day_after_a_failed_attempt_is_chosen_once_when_it_is_paid(
    runtime: Runtime,
) -> None:
    zeds = delivered_and_failed(runtime)  # a London depot's merchant: one delivered, one failed
    key, code = zeds["api_key"], zeds["failed"]
    prices = {"currency": "EUR", "prices": {}, "actions": {"reschedule": 300}}
    assert runtime.merchant(key, "PUT", "/v1/price-list", json=prices).status_code == 200
    today = datetime.now(ZoneInfo("Europe/London")).date()
    chosen = today + timedelta(days=2)
    before = stored(runtime, key, zeds["failed_id"])

    # Refusals come before any session: nobody pays for a day that cannot be had.
    made = _sessions_made(runtime)
    outside = twin(runtime, code, "reschedule", json={"date": today.isoformat()})
    assert outside.status_code == 422 and "date" in outside.json()["error"]["message"]
    delivered = twin(runtime, zeds["delivered"], "reschedule", json={"date": chosen.isoformat()})
    assert delivered.status_code == 409, delivered.text
    assert delivered.json()["error"]["code"] == "reschedule_not_offered"
    assert _sessions_made(runtime) == made

    asked = twin(runtime, code, "reschedule", json={"date": chosen.isoformat()})
    assert asked.status_code == 402, asked.text
    checkout = asked.json()
    assert checkout["error"]["code"] == "payment_required"
    assert checkout["price"] == {"amount": 300, "currency": "EUR"}
    page_answer = form(runtime, code, "reschedule", date=chosen.isoformat())
    assert page_answer.status_code == 200, page_answer.text
    assert 'id="pay"' in page_answer.text and "3.00 EUR" in page_answer.text
    abandoned = page_answer.text.split("/c/pay/")[1].split('"')[0]
    assert requests.post(
        runtime.url(f"/local/stripe/checkout/sessions/{abandoned}/expire"), timeout=30
    ).ok
    unpaid = stored(runtime, key, zeds["failed_id"])
    assert unpaid["delivery"].get("window") == before["delivery"].get("window"), "not yet"
    assert unpaid["timeline"] == before["timeline"]

    paid = _complete(runtime, checkout["session_id"], deliveries=2)  # Stripe delivers twice
    assert paid.status_code == 200, paid.text
    first, second = paid.json()["webhook"]
    assert first["status"] == 200 and first["body"]["reason"] == "paid action applied", first
    assert second["status"] == 200 and second["body"]["outcome"] == "duplicate", second
    after = stored(runtime, key, zeds["failed_id"])
    start = datetime.fromisoformat(after["delivery"]["window"]["start"])
    end = datetime.fromisoformat(after["delivery"]["window"]["end"])
    london = ZoneInfo("Europe/London")
    assert (start.astimezone(london).date(), start.astimezone(london).hour) == (chosen, 8)
    assert (end.astimezone(london).date(), end.astimezone(london).hour) == (chosen, 20)
    moves = [e for e in after["timeline"] if e["type"] == "order.rescheduled_by_customer"]
    assert len(moves) == 1, "the day chosen once, though the event came twice"
    assert after["status"] == "ready"
    assert _complete(runtime, abandoned).status_code == 400, "an abandoned session stays unpaid"
    assert stored(runtime, key, zeds["failed_id"])["timeline"] == after["timeline"]


def test_another_day_stays_free_when_the_merchant_does_not_price_it(runtime: Runtime) -> None:
    zeds = delivered_and_failed(runtime)
    key, code = zeds["api_key"], zeds["failed"]
    prices = {"currency": "EUR", "prices": {}, "actions": {"extension": 450}}
    assert runtime.merchant(key, "PUT", "/v1/price-list", json=prices).status_code == 200
    chosen = datetime.now(ZoneInfo("Europe/London")).date() + timedelta(days=4)
    made = _sessions_made(runtime)
    moved = twin(runtime, code, "reschedule", json={"date": chosen.isoformat()})
    assert moved.status_code == 200, moved.text
    start = datetime.fromisoformat(moved.json()["delivery"]["window"]["start"])
    assert start.astimezone(ZoneInfo("Europe/London")).date() == chosen
    assert _sessions_made(runtime) == made, "no checkout for a free action"
