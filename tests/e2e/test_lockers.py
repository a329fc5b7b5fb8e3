"""Smart lockers over HTTP, as an operator, a storefront, a driver, a kiosk and a customer use
them: planned as resources, deposited, picked up once with the code the customer was sent,
never opened by guessing, and an uncollected parcel taken back by the next run."""

from __future__ import annotations

import re
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from tests.builders import an_order
from tests.e2e.conftest import DEPOT_AT, Runtime
from tests.e2e.test_dispatch import wait_for


def setup(runtime: Runtime, lockers: dict[str, list[str]], vans: int = 1) -> dict[str, Any]:
    """A depot of its own with `vans` vans, a merchant, and lockers (name -> compartment sizes)
    a few hundred metres apart."""
    depot = runtime.depot("Locker depot", vans=vans, parcels=80)
    merchant = runtime.admin("POST", "/v1/merchants", json={"name": "Lockers", "depot_id": depot})
    made = {}
    for n, (name, sizes) in enumerate(lockers.items()):
        answer = runtime.admin(
            "POST",
            "/v1/lockers",
            json={
                "name": f"Locker {name}",
                "lat": DEPOT_AT[0] + 0.004 * (n + 1),
                "lng": DEPOT_AT[1] + 0.002 * n,
                "depot_id": depot,
                "address": {"line1": f"{n + 1} Station Rd", "city": "London", "postcode": "SE1"},
                "compartments": [
                    {"compartment_id": f"{size}{k:02d}", "size": size}
                    for k, size in enumerate(sizes)
                ],
            },
        )
        assert answer.status_code == 201, answer.text
        made[name] = answer.json()
    return {"depot_id": depot, "api_key": merchant.json()["api_key"], "lockers": made}


def place(
    runtime: Runtime, world: dict[str, Any], n: int, locker: str | None, size: str = "M"
) -> dict[str, Any]:
    body = an_order(external_id=f"lk-{world['depot_id']}-{n}")
    body["address"] |= {"lat": DEPOT_AT[0] + 0.003 * (n % 7), "lng": DEPOT_AT[1] - 0.002 * (n % 5)}
    body["customer"] |= {"phone": "+447911123456"}
    body["parcels"] = [{"weight_kg": 1.5, "size": size}]
    if locker:
        body["delivery"] = {"type": "locker", "locker_id": world["lockers"][locker]["locker_id"]}
    answer = runtime.merchant(world["api_key"], "POST", "/v1/orders", json=body)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def dispatch(runtime: Runtime, depot_id: str) -> dict[str, Any]:
    run_id = runtime.admin("POST", f"/v1/depots/{depot_id}/dispatch").json()["run_id"]
    run = wait_for(runtime, run_id)
    assert run["status"] == "succeeded", run
    return run


def kiosk(
    runtime: Runtime, world: dict[str, Any], locker: str, path: str, key: str | None = None, **body
) -> requests.Response:
    made = world["lockers"][locker]
    return requests.post(
        runtime.url(f"/v1/lockers/{made['locker_id']}/{path}"),
        json=body,
        headers={"Authorization": f"Bearer {key or made['kiosk_key']}"},
        timeout=30,
    )


def messages(runtime: Runtime, order_id: str, at_least: int = 0) -> list[dict[str, Any]]:
    """The emails and SMS the local runtime captured about one order (waiting for them)."""
    for _ in range(120):
        found = [
            m
            for m in requests.get(runtime.url("/local/outbox"), timeout=10).json()["messages"]
            if m.get("order_id") == order_id
        ]
        if len(found) >= at_least:
            return found
        time.sleep(0.25)
    raise AssertionError(f"fewer than {at_least} messages for {order_id}: {found}")


def pickup_codes(runtime: Runtime, order_id: str, sms_count: int = 1) -> list[str]:
    """The pickup codes the customer's SMS carried (8 digits), in the order sent."""
    sms = [m for m in messages(runtime, order_id) if m["channel"] == "sms"]
    for _ in range(120):
        sms = [m for m in messages(runtime, order_id) if m["channel"] == "sms"]
        codes = [c for m in sms for c in re.findall(r"\b\d{8}\b", m["body"])]
        if len(codes) >= sms_count:
            return codes
        time.sleep(0.25)
    raise AssertionError(f"no pickup code sent for {order_id}: {sms}")


def order_status(runtime: Runtime, world: dict[str, Any], order_id: str) -> dict[str, Any]:
    return dict(runtime.merchant(world["api_key"], "GET", f"/v1/orders/{order_id}").json())


def locker_view(runtime: Runtime, world: dict[str, Any], locker: str) -> dict[str, Any]:
    locker_id = world["lockers"][locker]["locker_id"]
    return dict(runtime.admin("GET", f"/v1/lockers/{locker_id}").json())


def test_a_locker_parcel_is_planned_deposited_and_picked_up_once(runtime: Runtime) -> None:
    world = setup(runtime, {"A": ["S", "M", "M", "L"], "B": ["M", "M"]})
    placed = place(runtime, world, 1, "A")
    run = dispatch(runtime, world["depot_id"])
    [route] = run["routes"]
    [stop] = route["stops"]
    assert stop["kind"] == "locker" and stop["locker_id"] == world["lockers"]["A"]["locker_id"]
    reserved = [c for c in locker_view(runtime, world, "A")["compartments"] if c.get("order_id")]
    assert [(c["size"], c["state"]) for c in reserved] == [("M", "reserved")]

    first = kiosk(runtime, world, "A", "deposits", order_id=placed["order_id"])
    again = kiosk(runtime, world, "A", "deposits", order_id=placed["order_id"])

    assert first.status_code == again.status_code == 201, first.text
    assert first.json()["compartment_id"] == reserved[0]["compartment_id"]
    assert again.json() == first.json(), "a retried deposit opens the same door, no new code"
    assert order_status(runtime, world, placed["order_id"])["status"] == "in_locker"
    [code] = pickup_codes(runtime, placed["order_id"])
    emails = [m for m in messages(runtime, placed["order_id"]) if m["channel"] == "email"]
    assert any(code in m["body"] for m in emails), "the email carries the code too"

    assert kiosk(runtime, world, "B", "pickups", code=code).status_code == 403, "not at B"
    opened = kiosk(runtime, world, "A", "pickups", code=code)
    assert opened.status_code == 200, opened.text
    assert opened.json()["compartment_id"] == first.json()["compartment_id"]
    assert opened.json()["order_id"] == placed["order_id"]
    assert kiosk(runtime, world, "A", "pickups", code=code).status_code == 403, "used"

    assert order_status(runtime, world, placed["order_id"])["status"] == "collected"
    figures = locker_view(runtime, world, "A")["figures"]
    assert figures["deposits"] == figures["pickups"] == 1 and figures["expiries"] == 0
    assert pickup_codes(runtime, placed["order_id"]) == [code], "one code was ever sent"


def test_a_wrong_kiosk_key_is_401_and_changes_nothing(runtime: Runtime) -> None:
    world = setup(runtime, {"A": ["M"], "B": ["M"]})
    placed = place(runtime, world, 1, "A")
    dispatch(runtime, world["depot_id"])
    other_key = world["lockers"]["B"]["kiosk_key"]

    deposit = kiosk(runtime, world, "A", "deposits", key=other_key, order_id=placed["order_id"])
    pickup = kiosk(runtime, world, "A", "pickups", key="kiosk_wrong", code="12345678")

    assert deposit.status_code == pickup.status_code == 401
    assert order_status(runtime, world, placed["order_id"])["status"] == "planned"


def test_a_full_locker_gets_what_fits_and_the_rest_wait_with_the_reason(
    runtime: Runtime,
) -> None:
    world = setup(runtime, {"C": ["M", "M", "M", "S"], "D": ["M", "M", "M"]})
    placed = [place(runtime, world, n, "C", size="M") for n in range(5)]

    run = dispatch(runtime, world["depot_id"])

    stops = [s for r in run["routes"] for s in r["stops"]]
    assert len(stops) == 3 and all(s["kind"] == "locker" for s in stops)
    assert len(run["unassigned"]) == 2
    assert {u["reason"] for u in run["unassigned"]} == {"locker_full"}
    held = [c for c in locker_view(runtime, world, "C")["compartments"] if c["state"] != "free"]
    assert sorted((c["size"], c["state"]) for c in held) == [("M", "reserved")] * 3
    assert {c["order_id"] for c in held} == {s["order_id"] for s in stops}
    for left in run["unassigned"]:
        assert order_status(runtime, world, left["order_id"])["status"] == "ready"
        sent = messages(runtime, left["order_id"], at_least=4)  # confirmed + locker full, x2
        assert any("Locker D" in m["body"] for m in sent), "offered the next nearest locker"
    assert {p["order_id"] for p in placed} == {s["order_id"] for s in stops} | {
        u["order_id"] for u in run["unassigned"]
    }


def test_two_drivers_at_the_last_free_compartment(runtime: Runtime) -> None:
    world = setup(runtime, {"E": ["L"], "F": ["M", "M"]}, vans=2)
    placed = [place(runtime, world, n, None) for n in range(2)]  # home deliveries
    run = dispatch(runtime, world["depot_id"])
    token = {s["order_id"]: r["driver_token"] for r in run["routes"] for s in r["stops"]}

    def redirect(order: dict[str, Any]) -> requests.Response:
        return kiosk(
            runtime,
            world,
            "E",
            "deposits",
            key=token[order["order_id"]],
            order_id=order["order_id"],
        )

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(redirect, placed))

    assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
    refused = next(a for a in answers if a.status_code == 409).json()["error"]
    assert refused["code"] == "locker_full" and "Locker F" in refused["message"]
    won = placed[[a.status_code for a in answers].index(201)]
    lost = placed[[a.status_code for a in answers].index(409)]
    assert order_status(runtime, world, won["order_id"])["status"] == "in_locker"
    assert order_status(runtime, world, lost["order_id"])["status"] == "planned"
    [door] = locker_view(runtime, world, "E")["compartments"]
    assert door["state"] == "occupied" and door["order_id"] == won["order_id"]


def test_guessing_opens_nothing_and_locks_the_kiosk(runtime: Runtime) -> None:
    world = setup(runtime, {"G": ["M"] * 50})
    placed = [place(runtime, world, n, "G") for n in range(50)]
    dispatch(runtime, world["depot_id"])
    for order in placed:
        assert kiosk(runtime, world, "G", "deposits", order_id=order["order_id"]).ok
    live = set(pickup_codes(runtime, placed[-1]["order_id"]))
    locker_id = world["lockers"]["G"]["locker_id"]
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {world['lockers']['G']['kiosk_key']}"
    url = runtime.url(f"/v1/lockers/{locker_id}/pickups")

    def guess(_: int) -> requests.Response:
        code = f"{secrets.randbelow(10**8):08d}"
        while code in live:
            code = f"{secrets.randbelow(10**8):08d}"
        return session.post(url, json={"code": code}, timeout=30)

    first = [guess(n).status_code for n in range(5)]
    with ThreadPoolExecutor(8) as pool:
        rest = list(pool.map(guess, range(9_995)))

    assert first == [403] * 5
    assert {r.status_code for r in rest} == {429}
    assert 0 < int(rest[-1].headers["Retry-After"]) <= 900
    # Locked means locked: a right code waits too, and every parcel is still behind its door.
    assert kiosk(runtime, world, "G", "pickups", code=next(iter(live))).status_code == 429
    doors = locker_view(runtime, world, "G")["compartments"]
    assert [d["state"] for d in doors] == ["occupied"] * 50


def test_an_uncollected_parcel_is_returned_and_planned_for_pickup(runtime: Runtime) -> None:
    world = setup(runtime, {"H": ["S", "M"]})
    placed = place(runtime, world, 1, "H")
    dispatch(runtime, world["depot_id"])
    assert kiosk(runtime, world, "H", "deposits", order_id=placed["order_id"]).status_code == 201
    [code] = pickup_codes(runtime, placed["order_id"])
    now = datetime.now(UTC)

    def sweep(hours: float) -> list[str]:
        """Run the sweep as of `hours` from now; this order's timeline event types after it
        (the sweep visits every locker of the shared runtime, so its counts are not ours)."""
        at = (now + timedelta(hours=hours)).isoformat()
        answer = requests.post(
            runtime.url("/local/schedules/locker_sweep"), json={"time": at}, timeout=30
        )
        assert answer.status_code == 200, answer.text
        return [e["type"] for e in order_status(runtime, world, placed["order_id"])["timeline"]]

    assert "order.pickup_reminder" not in sweep(47)
    assert sweep(50).count("order.pickup_reminder") == 1
    assert sweep(51).count("order.pickup_reminder") == 1, "reminded once"
    assert sweep(73).count("order.locker_expired") == 1
    assert any("collect" in m["body"].lower() for m in messages(runtime, placed["order_id"], 6))

    assert order_status(runtime, world, placed["order_id"])["status"] == "returned"
    assert kiosk(runtime, world, "H", "pickups", code=code).status_code == 403, "expired"
    [door] = [d for d in locker_view(runtime, world, "H")["compartments"] if d.get("order_id")]
    assert door["state"] == "awaiting_retrieval"
    run = dispatch(runtime, world["depot_id"])
    [route] = run["routes"]
    [stop] = route["stops"]
    assert stop["kind"] == "retrieval" and stop["order_id"] == placed["order_id"]

    taken = requests.post(
        runtime.url(f"/v1/routes/{route['route_id']}/events"),
        json={"type": "retrieved", "order_id": placed["order_id"], "event_id": "r1"},
        headers={"Authorization": f"Bearer {route['driver_token']}"},
        timeout=30,
    )
    assert taken.status_code == 202, taken.text
    view = locker_view(runtime, world, "H")
    assert all(d["state"] == "free" for d in view["compartments"])
    assert view["figures"]["expiries"] == 1 and view["figures"]["expiry_rate"] == 1.0


def test_a_drivers_deposited_event_fills_its_stops_locker(runtime: Runtime) -> None:
    world = setup(runtime, {"J": ["M"]})
    placed = place(runtime, world, 1, "J")
    [route] = dispatch(runtime, world["depot_id"])["routes"]

    event = {"type": "deposited", "order_id": placed["order_id"], "event_id": "dep-1"}
    answers = [
        requests.post(
            runtime.url(f"/v1/routes/{route['route_id']}/events"),
            json=event,
            headers={"Authorization": f"Bearer {route['driver_token']}"},
            timeout=30,
        )
        for _ in range(2)
    ]

    assert [a.status_code for a in answers] == [202, 202], answers[0].text
    assert answers[0].json()["compartment_id"] == "M00"
    assert answers[1].json()["outcome"] == "duplicate"
    assert order_status(runtime, world, placed["order_id"])["status"] == "in_locker"
    [door] = locker_view(runtime, world, "J")["compartments"]
    assert door["state"] == "occupied" and door["order_id"] == placed["order_id"]
    assert len(pickup_codes(runtime, placed["order_id"])) == 1


def test_a_hundred_guesses_at_once_are_all_counted_and_five_looked_at(runtime: Runtime) -> None:
    world = setup(runtime, {"K": ["M"]})
    placed = place(runtime, world, 1, "K")
    dispatch(runtime, world["depot_id"])
    assert kiosk(runtime, world, "K", "deposits", order_id=placed["order_id"]).status_code == 201
    [code] = pickup_codes(runtime, placed["order_id"])
    alerts_before = sum("locker kiosk locked" in line for line in runtime.log)
    wrong = [c for c in (f"{n:08d}" for n in range(20_000_000, 20_000_101)) if c != code][:100]

    def guess(wrong_code: str) -> requests.Response:
        return kiosk(runtime, world, "K", "pickups", code=wrong_code)

    with ThreadPoolExecutor(100) as pool:
        answers = list(pool.map(guess, wrong))

    statuses = [a.status_code for a in answers]
    assert set(statuses) <= {403, 429}, [a.text for a in answers if a.status_code not in (403, 429)]
    # A 403 is a code looked at (and refused); a 429 one that never was.
    assert statuses.count(403) == 5 and statuses.count(429) == 95
    assert {a.json()["error"]["code"] for a in answers} == {"pickup_refused", "kiosk_locked"}
    assert all(0 < int(a.headers["Retry-After"]) <= 900 for a in answers if a.status_code == 429)
    view = locker_view(runtime, world, "K")
    assert view["kiosk"]["attempts"] == 100, "every concurrent guess counted"
    assert view["kiosk"]["lockouts"] == 1 and view["kiosk"]["locked_until"]
    assert [d["state"] for d in view["compartments"]] == ["occupied"], "nothing opened"
    for _ in range(40):  # the alert is logged by the request that locked it, maybe last
        alerts = sum("locker kiosk locked" in line for line in runtime.log) - alerts_before
        if alerts:
            break
        time.sleep(0.05)
    assert alerts == 1, "one alert per lockout, not per refused guess"
    assert kiosk(runtime, world, "K", "pickups", code=code).status_code == 429
    assert order_status(runtime, world, placed["order_id"])["status"] == "in_locker"


def test_the_kiosk_key_is_checked_before_the_body(runtime: Runtime) -> None:
    world = setup(runtime, {"L": ["M"]})
    placed = place(runtime, world, 1, "L")
    locker_id = world["lockers"]["L"]["locker_id"]
    right = world["lockers"]["L"]["kiosk_key"]

    def post(path: str, key: str, body: bytes) -> requests.Response:
        return requests.post(
            runtime.url(f"/v1/lockers/{locker_id}/{path}"),
            data=body,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
            timeout=30,
        )

    for path in ("pickups", "deposits", "retrievals"):
        for body in (b"{not json", b"[" * 100_000, b'{"code": "' + b"9" * 2_000_000 + b'"}'):
            answer = post(path, "kiosk_wrong", body)
            assert answer.status_code == 401, (path, body[:20], answer.text)
            assert answer.json()["error"]["code"] == "unauthorized"
        assert post(path, "drv_" + "x" * 600, b"{not json").status_code == 401, "not a token"
        assert post(path, right, b"{not json").status_code == 400
    refused = {
        b'{"code": "1234567"}': "code",
        b'{"code": "12345678 "}': None,  # surrounding space is trimmed: a code, refused 403
        b'{"code": "1234567a"}': "code",
        b'{"code": 12345678}': "code",
    }
    for body, field in refused.items():
        answer = post("pickups", right, body)
        if field is None:
            assert answer.status_code == 403, answer.text
        else:
            assert answer.status_code == 422, answer.text
            assert field in answer.text
    long_id = b'{"order_id": "' + b"o" * 65 + b'"}'
    for body in (long_id, b'{"order_id": "ord_\\u00e9"}'):
        answer = post("deposits", right, body)
        assert answer.status_code == 422 and "order_id" in answer.text, answer.text
    assert order_status(runtime, world, placed["order_id"])["status"] == "ready"
    assert locker_view(runtime, world, "L")["kiosk"]["attempts"] == 1, "only the 8 digits"


def test_a_locker_order_of_more_parcels_than_a_deposit_takes_is_refused_at_intake(
    runtime: Runtime,
) -> None:
    """90 parcels is what one deposit can open doors for in one transaction; past that the
    order is refused whole when it comes in (a home order diverted to a locker by its driver is
    refused at the kiosk: tests/integration/test_locker_hardening.py)."""
    world = setup(runtime, {"N": ["S"] * 99})
    body = an_order(external_id=f"lk-{world['depot_id']}-big")
    body["parcels"] = [{"weight_kg": 0.2, "size": "S"}] * 120
    body["delivery"] = {"type": "locker", "locker_id": world["lockers"]["N"]["locker_id"]}

    made = runtime.merchant(world["api_key"], "POST", "/v1/orders", json=body)

    assert made.status_code == 422, made.text
    assert made.json()["error"]["field"] == "parcels"
    assert "at most 90" in made.json()["error"]["message"]
    found = runtime.merchant(
        world["api_key"], "GET", "/v1/orders", params={"external_id": body["external_id"]}
    )
    assert found.ok and found.json()["orders"] == [], "nothing stored"
