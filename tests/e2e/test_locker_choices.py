"""A customer chooses from the tracking page, over HTTP, where their parcel goes: a locker near
them instead of home, home after all; a locker not offered is refused and changes nothing. Once
the parcel waits in a locker: its public details and deadline, a new code, more time once."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from tests.builders import an_order
from tests.e2e.conftest import Runtime
from tests.e2e.test_dispatch import wait_for
from tests.e2e.test_tracking_page import forget_counters

# The customer's home (an_order's address) and lockers around it.
HOME_LAT, HOME_LNG = 51.5238, -0.1586
PRIVATE = ("Zanzibarovic", "Quokka Lane", "ZZ9 9ZZ", "zed.private@example.com", "7700900999")


@pytest.fixture(autouse=True)
def fresh_minute(runtime: Runtime) -> Iterator[None]:
    """Every request of the session comes from one local IP: each test starts with a fresh
    count of the tracking rate limit, and leaves none behind."""
    forget_counters(runtime)
    yield
    forget_counters(runtime)


def a_locker(
    runtime: Runtime, depot_id: str, name: str, lat: float, lng: float, **extra: Any
) -> dict[str, str]:
    created = runtime.admin(
        "POST",
        "/v1/lockers",
        json={
            "name": name,
            "lat": lat,
            "lng": lng,
            "depot_id": depot_id,
            "compartments": [{"compartment_id": f"C{n}", "size": "M"} for n in range(3)],
            **extra,
        },
    )
    assert created.status_code == 201, created.text
    return dict(created.json())


@pytest.fixture(scope="module")
def town(runtime: Runtime) -> dict[str, Any]:
    """A depot of this module's own with a merchant and two lockers near the customer, and
    another depot with a locker just as near (never offered to this depot's orders)."""
    depot = runtime.depot("Locker choice depot")
    merchant = runtime.admin("POST", "/v1/merchants", json={"name": "Chooser", "depot_id": depot})
    assert merchant.status_code == 201, merchant.text
    park = a_locker(
        runtime,
        depot,
        "Regent's Park Gate",
        HOME_LAT + 0.004,
        HOME_LNG,
        address={"line1": "1 Park Square", "city": "London", "postcode": "NW1 4LH"},
    )
    market = a_locker(runtime, depot, "Marylebone Market", HOME_LAT - 0.006, HOME_LNG + 0.004)
    elsewhere = a_locker(
        runtime, runtime.depot("Other depot"), "Elsewhere", HOME_LAT, HOME_LNG + 0.001
    )
    return {
        "depot_id": depot,
        "api_key": merchant.json()["api_key"],
        "park": park["locker_id"],
        "market": market["locker_id"],
        "elsewhere": elsewhere["locker_id"],
    }


def an_order_of_zeds(runtime: Runtime, key: str, **delivery: Any) -> dict[str, Any]:
    body = an_order(
        external_id=f"locker-choice-{uuid.uuid4().hex[:8]}",
        customer={
            "name": "Zed Zanzibarovic",
            "email": "zed.private@example.com",
            "phone": "+447700900999",
        },
        delivery=delivery or {"type": "home"},
    )
    body["address"] |= {"line1": "77 Quokka Lane", "postcode": "ZZ9 9ZZ"}
    created = runtime.merchant(key, "POST", "/v1/orders", json=body)
    assert created.status_code == 201, created.text
    return stored(runtime, key, created.json()["order_id"])


def stored(runtime: Runtime, key: str, order_id: str) -> dict[str, Any]:
    found = runtime.merchant(key, "GET", f"/v1/orders/{order_id}")
    assert found.status_code == 200, found.text
    return dict(found.json())


def page(runtime: Runtime, code: str) -> str:
    response = requests.get(runtime.url(f"/track/{code}"), timeout=10)
    assert response.status_code == 200, response.text
    for private in PRIVATE:
        assert private not in response.text, private
    return response.text


def form(runtime: Runtime, code: str, action: str, **fields: str) -> requests.Response:
    """A form posted as a browser posts it (the content type even when it has no fields)."""
    return requests.post(
        runtime.url(f"/track/{code}/{action}"),
        data=fields,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        allow_redirects=False,
        timeout=10,
    )


def twin(runtime: Runtime, code: str, action: str = "", **kwargs: Any) -> requests.Response:
    path = f"/v1/track/{code}" + (f"/{action}" if action else "")
    if action:
        return requests.post(runtime.url(path), timeout=10, **kwargs)
    return requests.get(runtime.url(path), timeout=10)


def offered(html: str) -> list[str]:
    return re.findall(r'name="locker_id" value="([^"]+)"', html)


def test_a_ready_order_switches_to_a_locker_from_the_page_and_back_home(
    runtime: Runtime, town: dict[str, Any]
) -> None:
    key = town["api_key"]
    order = an_order_of_zeds(runtime, key)
    code = order["tracking_code"]
    assert order["status"] == "ready"

    html = page(runtime, code)
    assert "Collect from a locker instead" in html and f'action="{code}/locker"' in html
    assert offered(html) == [town["park"], town["market"]], "nearest first, this depot's only"
    assert "Park Gate" in html and "Marylebone Market" in html and "Elsewhere" not in html
    assert "Deliver to my address instead" not in html

    chosen = form(runtime, code, "locker", locker_id=town["park"])
    assert chosen.status_code == 303, chosen.text
    assert chosen.headers["Location"] == f"/track/{code}"
    after = stored(runtime, key, order["order_id"])
    assert after["delivery"]["type"] == "locker"
    assert after["delivery"]["locker_id"] == town["park"]
    assert after["status"] == "ready"

    html = page(runtime, code)
    assert 'id="locker-name"' in html and "Park Gate" in html
    assert "1 Park Square, London NW1 4LH" in html and "Open daily 24 hours" in html
    assert offered(html) == [town["market"], "home"], "another locker, or home after all"
    view = twin(runtime, code).json()
    assert view["delivery"]["locker"]["name"] == "Regent's Park Gate"
    assert view["delivery"]["locker"]["address"] == "1 Park Square, London NW1 4LH"
    assert view["delivery_choices"]["home"] is True
    assert "distance_m" not in twin(runtime, code).text

    home = form(runtime, code, "locker", locker_id="home")
    assert home.status_code == 303, home.text
    back = stored(runtime, key, order["order_id"])
    assert back["delivery"]["type"] == "home" and not back["delivery"].get("locker_id")
    assert "Deliver to my address instead" not in page(runtime, code)
    assert twin(runtime, code).json()["delivery"] == {"type": "home"}


def test_a_locker_not_offered_is_refused_with_a_page_and_nothing_changes(
    runtime: Runtime, town: dict[str, Any]
) -> None:
    key = town["api_key"]
    order = an_order_of_zeds(runtime, key)
    code = order["tracking_code"]
    before = stored(runtime, key, order["order_id"])

    for not_offered in (town["elsewhere"], "lkr_made_up_000", "home'><b>"):
        refused = form(runtime, code, "locker", locker_id=not_offered)
        assert refused.status_code == 409, (not_offered, refused.text)
        assert refused.headers["Content-Type"] == "text/html; charset=utf-8"
        assert "This cannot be done now" in refused.text
        assert f'href="/track/{code}"' in refused.text
        assert "<b>" not in refused.text
        for private in PRIVATE:
            assert private not in refused.text, private
    missing = form(runtime, code, "locker")
    assert missing.status_code == 422 and "choose a locker" in missing.text

    json_refused = twin(runtime, code, "locker", json={"locker_id": town["elsewhere"]})
    assert json_refused.status_code == 409
    assert json_refused.json()["error"]["code"] == "not_offered"
    assert twin(runtime, code, "locker", json={}).status_code == 422, "locker_id or null"

    after = stored(runtime, key, order["order_id"])
    assert after["delivery"] == before["delivery"] == {"type": "home"}
    assert after["timeline"] == before["timeline"]
    assert form(runtime, "NOSUCHCODE000000", "locker", locker_id=town["park"]).status_code == 404


def test_the_json_twin_switches_to_a_locker_and_home_again(
    runtime: Runtime, town: dict[str, Any]
) -> None:
    key = town["api_key"]
    order = an_order_of_zeds(runtime, key)
    code = order["tracking_code"]

    listed = twin(runtime, code).json()["delivery_choices"]
    assert [c["locker_id"] for c in listed["lockers"]] == [town["park"], town["market"]]
    assert listed["home"] is False

    switched = twin(runtime, code, "locker", json={"locker_id": town["market"]})
    assert switched.status_code == 200, switched.text
    view = switched.json()
    assert view["delivery"]["type"] == "locker"
    assert view["delivery"]["locker"]["name"] == "Marylebone Market"
    assert stored(runtime, key, order["order_id"])["delivery"]["locker_id"] == town["market"]
    for private in PRIVATE:
        assert private not in switched.text, private

    home = twin(runtime, code, "locker", json={"locker_id": None})
    assert home.status_code == 200, home.text
    assert home.json()["delivery"] == {"type": "home"}
    assert stored(runtime, key, order["order_id"])["delivery"]["type"] == "home"


def test_no_new_code_or_more_time_before_the_parcel_is_in_a_locker(
    runtime: Runtime, town: dict[str, Any]
) -> None:
    order = an_order_of_zeds(runtime, town["api_key"], type="locker", locker_id=town["park"])
    code = order["tracking_code"]
    html = page(runtime, code)
    assert 'id="pickup-by"' not in html and "/pickup-code" not in html and "/extension" not in html
    for action in ("pickup-code", "extension"):
        refused = form(runtime, code, action)
        assert refused.status_code == 409 and "text/html" in refused.headers["Content-Type"]
        json_refused = twin(runtime, code, action)
        assert json_refused.status_code == 409
        assert json_refused.json()["error"]["code"] == "not_offered"


# -- once it is in the locker ------------------------------------------------------------------


def codes_sent(runtime: Runtime, order_id: str, at_least: int) -> list[str]:
    """The pickup codes emailed to the customer, oldest first, once `at_least` of them arrived
    (the outbox stream is asynchronous)."""
    codes: list[str] = []
    for _ in range(120):
        everything = requests.get(runtime.url("/local/outbox"), timeout=10).json()["messages"]
        codes = [
            found[0]
            for m in everything
            if m.get("order_id") == order_id and m["channel"] == "email"
            for found in [re.findall(r"pickup code: (\d{8})\b", m["body"])]
            if found
        ]
        if len(codes) >= at_least:
            break
        time.sleep(0.25)
    return codes


@pytest.fixture(scope="module")
def in_locker(runtime: Runtime) -> dict[str, Any]:
    """A locker order of a depot of its own, dispatched and deposited by the locker's kiosk."""
    depot = runtime.depot("Locker pickup depot", vans=1)
    merchant = runtime.admin("POST", "/v1/merchants", json={"name": "Lockers", "depot_id": depot})
    key = merchant.json()["api_key"]
    locker = a_locker(
        runtime,
        depot,
        "Baker Street Station",
        HOME_LAT - 0.001,
        HOME_LNG,
        address={"line1": "Marylebone Road", "city": "London", "postcode": "NW1 5LJ"},
    )
    order = an_order_of_zeds(runtime, key, type="locker", locker_id=locker["locker_id"])
    run = wait_for(runtime, runtime.admin("POST", f"/v1/depots/{depot}/dispatch").json()["run_id"])
    assert run["status"] == "succeeded", run
    assert stored(runtime, key, order["order_id"])["status"] == "planned", run
    deposited = requests.post(
        runtime.url(f"/v1/lockers/{locker['locker_id']}/deposits"),
        json={"order_id": order["order_id"]},
        headers={"Authorization": f"Bearer {locker['kiosk_key']}"},
        timeout=30,
    )
    assert deposited.status_code == 201, deposited.text
    return {"order": order, "api_key": key, "locker": locker, "deposit": deposited.json()}


def test_in_the_locker_the_page_shows_where_and_until_when_and_never_the_code(
    runtime: Runtime, in_locker: dict[str, Any]
) -> None:
    order = in_locker["order"]
    code = order["tracking_code"]
    [pickup_code] = codes_sent(runtime, order["order_id"], at_least=1)[-1:]

    html = page(runtime, code)
    assert "Ready to collect from the locker" in html
    assert "Baker Street Station" in html and "Marylebone Road, London NW1 5LJ" in html
    deadline = datetime.fromisoformat(in_locker["deposit"]["pickup_by"].replace("Z", "+00:00"))
    local = deadline.astimezone(ZoneInfo("Europe/London"))
    assert f"Collect it by {local:%a} {local.day} {local:%b}, {local:%H:%M}" in html
    assert f'action="{code}/pickup-code"' in html and f'action="{code}/extension"' in html
    assert 'id="choose-locker"' not in html, "where it goes can no longer change"
    view = twin(runtime, code)
    assert view.json()["delivery"]["locker"]["pickup_by"] == in_locker["deposit"]["pickup_by"]
    assert pickup_code not in html and pickup_code not in view.text


def test_a_new_code_and_more_time_once_from_the_page_and_its_twin(
    runtime: Runtime, in_locker: dict[str, Any]
) -> None:
    order = in_locker["order"]
    code, order_id = order["tracking_code"], order["order_id"]
    first = codes_sent(runtime, order_id, at_least=1)

    resent = form(runtime, code, "pickup-code")
    assert resent.status_code == 303, resent.text
    assert resent.headers["Location"] == f"/track/{code}"
    second = codes_sent(runtime, order_id, at_least=len(first) + 1)
    assert len(second) > len(first) and second[-1] != first[-1], "a new code was emailed"
    assert second[-1] not in page(runtime, code)

    before = twin(runtime, code).json()["delivery"]["locker"]["pickup_by"]
    more = form(runtime, code, "extension")
    assert more.status_code == 303, more.text
    after = twin(runtime, code).json()["delivery"]["locker"]
    assert after["extended"] is True
    moved = datetime.fromisoformat(after["pickup_by"].replace("Z", "+00:00"))
    assert moved - datetime.fromisoformat(before.replace("Z", "+00:00")) == timedelta(hours=48)
    html = page(runtime, code)
    assert f'action="{code}/extension"' not in html, "more time is given once"
    assert f'action="{code}/pickup-code"' in html

    again = twin(runtime, code, "extension")
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_offered"
    assert form(runtime, code, "extension").status_code == 409

    json_resent = twin(runtime, code, "pickup-code")
    assert json_resent.status_code == 202, json_resent.text
    assert json_resent.json() == {"pickup_by": after["pickup_by"]}
