"""Route events against moto: the messages each one leaves in the outbox (for notify/), and
live ETAs that tell a customer once when the van is running late."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib import bootstrap
from chalicelib.domain.errors import AuthenticationFailed, IllegalTransition
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.local.stepfunctions import LocalStepFunctions
from chalicelib.lockers.admin import NewLocker
from chalicelib.tracking.route_events import RouteEvent, RouteEventService
from tests.integration.test_dispatch import order, outbox_types, place, run_to_end, sfn, tenant

__all__ = ["sfn"]  # the module's workflow fixture, shared

pytestmark = pytest.mark.usefixtures("aws")


def now(minutes: float = 0) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


def events_later(minutes: float) -> RouteEventService:
    """The route events as a server `minutes` from now would record them (its clock is what
    ETAs run on, whatever time a phone claims)."""
    return RouteEventService(
        bootstrap.dispatch_repository(),
        bootstrap.order_repository(),
        bootstrap.driver_tokens(),
        lambda key, content_type, seconds: "",
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
