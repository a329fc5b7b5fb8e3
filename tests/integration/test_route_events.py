"""Route events against moto: the messages each one leaves in the outbox (for notify/), and
live ETAs that tell a customer once when the van is running late."""

from __future__ import annotations

import contextlib
import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib import bootstrap
from chalicelib.api.replies import RouteEventOut
from chalicelib.dispatch.driver_tokens import DriverTokens, expiry_of
from chalicelib.dispatch.eta import ORDER_ETA_SHARE, ORDER_ETA_STEP
from chalicelib.domain.errors import (
    AuthenticationFailed,
    Conflict,
    IllegalTransition,
    NotOnRoute,
    StopNotPending,
    TokenExpired,
)
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.times import parse_iso
from chalicelib.local.ping_bench import TARGET_WRITES_PER_PING, WriteCounter, writes_per_ping
from chalicelib.local.stepfunctions import LocalStepFunctions
from chalicelib.lockers.admin import NewLocker
from chalicelib.tracking.live_eta import with_live_eta
from chalicelib.tracking.route_events import RouteEvent, RouteEventService
from tests.integration.test_dispatch import order, outbox_types, place, run_to_end, sfn, tenant

__all__ = ["sfn"]  # the module's workflow fixture, shared

pytestmark = pytest.mark.usefixtures("aws", "answered_as_documented")


@pytest.fixture
def answered_as_documented(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every result these tests get from the service is one the driver API can answer: its
    reply model takes it whole (a field it does not name would be a 500) and sends it back
    unchanged, its nulls included."""
    record = RouteEventService.record

    def answered(self: RouteEventService, *args: Any, **kwargs: Any) -> dict[str, Any]:
        result = record(self, *args, **kwargs)
        assert RouteEventOut.of(result).body() == json.loads(json.dumps(result))
        return result

    monkeypatch.setattr(RouteEventService, "record", answered)


def now(minutes: float = 0) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


def events_later(minutes: float) -> RouteEventService:
    """The route events as a server `minutes` from now would record them (its clock is what
    ETAs run on, whatever time a phone claims)."""
    return RouteEventService(
        bootstrap.dispatch_repository(),
        bootstrap.order_repository(),
        bootstrap.driver_tokens(),
        bootstrap.proof_store(),
        clock=lambda: datetime.now(UTC) + timedelta(minutes=minutes),
    )


def test_each_event_leaves_its_message_and_a_late_van_says_so_once(
    sfn: tuple[LocalStepFunctions, str],
) -> None:
    merchant = tenant(vehicles=1)
    placed = [place(merchant, n) for n in range(3)]
    [route] = run_to_end(sfn, merchant.depot_id)["routes"]
    ids = [s["order_id"] for s in route["stops"]]
    events = bootstrap.route_events()
    token = route["driver_token"]

    events.record(route["route_id"], token, RouteEvent("departed", now(), "d1"))
    assert all(order(o.order_id).status is OrderStatus.OUT_FOR_DELIVERY for o in placed)
    assert outbox_types(ids[0]).count("order.arriving") == 1
    assert all(outbox_types(i).count("order.out_for_delivery") == 1 for i in ids)

    events.record(route["route_id"], token, RouteEvent("delivered", now(), "v1", ids[0]))
    assert outbox_types(ids[0]).count("order.delivered") == 1
    assert outbox_types(ids[1]).count("order.arriving") == 1, "the next customer is told"

    # Two hours later the van is still at the first stop: the rest is late, said once.
    for n in range(2):
        events_later(120 + n).record(
            route["route_id"],
            token,
            RouteEvent("location", now(120 + n), f"l{n}", lat=51.3, lng=-0.4),
        )
    assert [outbox_types(i).count("order.delayed") for i in ids[1:]] == [1, 1]
    assert order(ids[2]).eta is not None and order(ids[2]).eta > route["stops"][2]["eta"]

    locker, _ = bootstrap.locker_admin().create(
        NewLocker("Corner shop", 51.5, -0.1, merchant.depot_id, [("A1", "M")])
    )
    with pytest.raises(IllegalTransition):  # delivered already: not into a locker too
        events.record(
            route["route_id"],
            token,
            RouteEvent("deposited", now(), "x", ids[0], locker_id=locker.locker_id),
        )
    with pytest.raises(AuthenticationFailed):
        events.record(route["route_id"], token + "x", RouteEvent("departed", now()))


def timeline_types(order_id: str) -> list[str]:
    found = bootstrap.order_repository().get_with_timeline(order_id)
    assert found is not None
    return [e.type for e in found[1]]


def etas(route_id: str) -> tuple[list[str], list[str | None]]:
    """The route's live ETAs and what its orders' items hold."""
    route = bootstrap.dispatch_repository().get_route(route_id)
    assert route is not None
    return [s.eta for s in route.stops], [order(s.order_id).eta for s in route.stops]


def test_route_as_token_cannot_serve_an_order_replanned_onto_route_b(
    sfn: tuple[LocalStepFunctions, str],
) -> None:
    merchant = tenant(vehicles=1)
    [place(merchant, n) for n in range(2)]
    [route_a] = run_to_end(sfn, merchant.depot_id)["routes"]
    moved = route_a["stops"][0]["order_id"]
    events, token_a = bootstrap.route_events(), route_a["driver_token"]
    events.record(route_a["route_id"], token_a, RouteEvent("departed", now(), "dep-a"))
    failed = RouteEvent("failed", now(), "fail-a", moved, reason="not_home")
    assert events.record(route_a["route_id"], token_a, failed)["status"] == "ready"
    [route_b] = run_to_end(sfn, merchant.depot_id)["routes"]
    assert [s["order_id"] for s in route_b["stops"]] == [moved]
    before = order(moved)
    messages, timeline = outbox_types(moved), timeline_types(moved)

    for stale in ("delivered", "arrived"):
        with pytest.raises(NotOnRoute):
            events.record(route_a["route_id"], token_a, RouteEvent(stale, now(), "late", moved))
    with pytest.raises(NotOnRoute):
        events.record(
            route_a["route_id"], token_a, RouteEvent("failed", now(), None, moved, reason="other")
        )

    after = order(moved)
    assert after == before, "nothing about the order changed"
    assert after.status is OrderStatus.PLANNED and after.route_id == route_b["route_id"]
    assert outbox_types(moved) == messages and timeline_types(moved) == timeline
    again = events.record(route_a["route_id"], token_a, failed)
    assert again["outcome"] == "duplicate", "a retried event still answers as before"
    with pytest.raises(AuthenticationFailed):
        events.record(route_a["route_id"], route_b["driver_token"], RouteEvent("departed", now()))


def test_concurrent_door_events_on_one_stop_one_wins(sfn: tuple[LocalStepFunctions, str]) -> None:
    merchant = tenant(vehicles=1)
    [place(merchant, n) for n in range(2)]
    [route] = run_to_end(sfn, merchant.depot_id)["routes"]
    events, token = bootstrap.route_events(), route["driver_token"]
    events.record(route["route_id"], token, RouteEvent("departed", now(), "dep"))
    target = route["stops"][0]["order_id"]
    start = threading.Barrier(6)
    outcomes: list[str] = []

    def deliver(n: int) -> None:
        start.wait()
        try:
            event = RouteEvent("delivered", now(), f"race-{n}", target)
            outcomes.append(events.record(route["route_id"], token, event)["outcome"])
        except Conflict as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count("applied") == 1, outcomes
    # The losers are 409s: the order changed under them, or was already delivered when read.
    losers = {"concurrent_update", "stop_not_pending", "illegal_transition"}
    assert set(outcomes) - {"applied"} <= losers, outcomes
    assert order(target).status is OrderStatus.DELIVERED
    assert timeline_types(target).count("order.delivered") == 1
    assert outbox_types(target).count("order.delivered") == 1
    stored = bootstrap.dispatch_repository().get_route(route["route_id"])
    assert stored is not None and stored.stops[0].state == "done"


def test_an_expired_driver_token_is_refused(sfn: tuple[LocalStepFunctions, str]) -> None:
    merchant = tenant(vehicles=1)
    place(merchant, 0)
    [route] = run_to_end(sfn, merchant.depot_id)["routes"]
    stored = bootstrap.dispatch_repository().get_route(route["route_id"])
    assert stored is not None
    key = bootstrap.settings().driver_token_secret_name
    tomorrow = DriverTokens(
        lambda: bootstrap.accounts().platform_secret(key), clock=lambda: expiry_of(stored) + 1
    )
    events = RouteEventService(
        bootstrap.dispatch_repository(),
        bootstrap.order_repository(),
        tomorrow,
        bootstrap.proof_store(),
    )
    assert tomorrow.token_for(stored) == route["driver_token"], "the token the run showed"
    with pytest.raises(TokenExpired):
        events.record(route["route_id"], route["driver_token"], RouteEvent("departed", now()))
    assert order(route["stops"][0]["order_id"]).status is OrderStatus.PLANNED


def test_implausible_fixes_and_clocks_are_kept_but_leave_etas_alone(
    sfn: tuple[LocalStepFunctions, str],
) -> None:
    merchant = tenant(vehicles=1)
    [place(merchant, n) for n in range(3)]
    [route] = run_to_end(sfn, merchant.depot_id)["routes"]
    events, token, route_id = bootstrap.route_events(), route["driver_token"], route["route_id"]
    events.record(route_id, token, RouteEvent("departed", now(), "dep"))
    here = RouteEvent("location", now(), "ping-1", lat=51.51, lng=-0.13)
    assert events.record(route_id, token, here)["fix"] == "used"
    settled = etas(route_id)
    counter = WriteCounter()
    counter.on = True
    assert events.record(route_id, token, here)["outcome"] == "duplicate"
    counter.on = False
    assert counter.items == 0, "a retried ping is known by the id kept with its fix"

    moments = datetime.now(UTC) + timedelta(seconds=10)
    bad = [
        RouteEvent("location", now(), lat=0.0, lng=0.0),  # null island
        RouteEvent("location", "9999-01-01T00:00:00+00:00", lat=51.51, lng=-0.13),
        RouteEvent("location", "9999-12-31T23:59:59-05:00", lat=51.51, lng=-0.13),
        RouteEvent("location", moments.isoformat(), lat=55.95, lng=-3.19),  # Edinburgh, 10 s on
        RouteEvent("location", moments.isoformat(), lat=51.78, lng=-0.13),  # 30 km in 10 s
    ]
    answers = [events.record(route_id, token, ping) for ping in bad]

    assert [a["fix"] for a in answers] == ["ignored"] * len(bad)
    assert [a["ignored"] for a in answers] == [
        "null_island",
        "clock_ahead",
        "clock_ahead",
        "outside_area",
        "impossible_jump",
    ]
    assert etas(route_id) == settled, "no ETA moved, on the route or on the orders"
    stored = bootstrap.dispatch_repository().get_route(route_id)
    assert stored is not None and stored.last_fix is not None
    assert (stored.last_fix.lat, stored.last_fix.lng) == (51.51, -0.13)
    record = [(f.lat, f.lng, f.at, f.ignored) for f in stored.ignored_fixes]
    assert record[1] == (51.51, -0.13, "9999-01-01T00:00:00+00:00", "clock_ahead")
    assert [r[3] for r in record] == [a["ignored"] for a in answers], "kept for the record"
    assert all(f.received_at < "9999" for f in stored.ignored_fixes), "server time beside"

    skewed = RouteEvent(
        "delivered", "9999-01-01T00:00:00+00:00", "dlv", route["stops"][0]["order_id"]
    )
    events.record(route_id, token, skewed)
    found = bootstrap.order_repository().get_with_timeline(route["stops"][0]["order_id"])
    assert found is not None
    delivered = next(e for e in found[1] if e.type == "order.delivered")
    assert delivered.at < "9999" and delivered.note and "9999-01-01T00:00:00" in delivered.note


def test_stops_whose_order_left_the_route_are_skipped_and_the_next_customer_told(
    sfn: tuple[LocalStepFunctions, str],
) -> None:
    merchant = tenant(vehicles=1)
    [place(merchant, n) for n in range(3)]
    [route] = run_to_end(sfn, merchant.depot_id)["routes"]
    first, second, third = (s["order_id"] for s in route["stops"])
    # The cancellation raced the commit: the order is cancelled, its stop was written after.
    repo = bootstrap.order_repository()
    racing = order(second)
    cancelled = racing.moved_to(OrderStatus.CANCELLED, at=now())
    repo.save(cancelled, [], expected_version=racing.version)
    events, token = bootstrap.route_events(), route["driver_token"]
    events.record(route["route_id"], token, RouteEvent("departed", now(), "dep"))

    served = events.record(route["route_id"], token, RouteEvent("delivered", now(), "d", first))

    assert served["next_stop"]["order_id"] == third, "the cancelled stop is skipped"
    assert outbox_types(third).count("order.arriving") == 1, "its customer hears the van"
    assert outbox_types(second).count("order.arriving") == 0
    stored = bootstrap.dispatch_repository().get_route(route["route_id"])
    assert stored is not None
    assert [s.state for s in stored.stops] == ["done", "cancelled", "pending"]
    with pytest.raises(StopNotPending):  # and never served after all
        events.record(route["route_id"], token, RouteEvent("delivered", now(), "d2", second))


def test_a_ping_on_a_150_stop_route_writes_about_one_item() -> None:
    bootstrap.store()
    sm = bootstrap.client("secretsmanager")
    with contextlib.suppress(sm.exceptions.ResourceExistsException):
        sm.create_secret(Name=bootstrap.settings().driver_token_secret_name, SecretString="k" * 48)

    figures = writes_per_ping(stops=150, legs=5)

    print("\nping writes on a 150-stop route:", figures)
    assert figures["pings"] >= 50 and figures["pings_ignored"] == 0
    assert figures["writes_per_ping"] <= TARGET_WRITES_PER_PING
    # One story: every reader shows the ETA last told (the order's, recorded with its window);
    # the route's live one, which decides when to tell, is never far from it.
    route = bootstrap.dispatch_repository().get_route(figures["route_id"])
    assert route is not None
    ended = parse_iso(figures["ended_at"])
    pending = [s for s in route.stops if s.state == "pending"]
    assert len(pending) == 145
    for stop in pending:
        held = order(stop.order_id)
        gap = abs(parse_iso(stop.eta) - parse_iso(held.eta or ""))
        assert gap <= max(ORDER_ETA_STEP, (parse_iso(stop.eta) - ended) * ORDER_ETA_SHARE)
        assert with_live_eta(held, bootstrap.dispatch_repository()).eta == stop.order_eta
        assert held.eta == stop.order_eta
