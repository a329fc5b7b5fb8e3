"""Analytics facts against moto: a retried or duplicated delivery event leaves one fact and
counts once; the facts of a driven route add up in their depot's local day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib import bootstrap
from chalicelib.analytics.facts import Fact, local_day, zone_of
from chalicelib.analytics.summary import Viewer
from chalicelib.domain.errors import DuplicateEvent, StopNotPending
from chalicelib.local.stepfunctions import LocalStepFunctions
from chalicelib.orders.service import Action, Inbound
from chalicelib.store.transaction import Transaction
from chalicelib.tracking.feedback import Feedback, FeedbackAlreadyGiven
from chalicelib.tracking.route_events import RouteEvent
from tests.integration.test_dispatch import place, run_to_end, sfn, tenant
from tests.integration.test_lockers import deposited, keys

__all__ = ["keys", "sfn"]

pytestmark = pytest.mark.usefixtures("aws")


def now(minutes: float = 0) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


def today(depot_id: str) -> str:
    return local_day(now(), zone_of("Europe/London"))


def totals(depot_id: str, *days: str) -> dict[str, float]:
    cells = bootstrap.fact_store().cells(
        days or [today(depot_id)], depot_id=depot_id, merchant_id=None
    )
    summed: dict[str, float] = {}
    for cell in cells:
        for name, value in cell.counters.items():
            summed[name] = summed.get(name, 0) + value
    return summed


def test_a_retried_delivery_event_leaves_one_fact_and_one_count(
    sfn: tuple[LocalStepFunctions, str],
) -> None:
    merchant = tenant(vehicles=1)
    placed = [place(merchant, n) for n in range(2)]
    [route] = run_to_end(sfn, merchant.depot_id)["routes"]
    first, second = (s["order_id"] for s in route["stops"])
    events, token, route_id = bootstrap.route_events(), route["driver_token"], route["route_id"]

    events.record(route_id, token, RouteEvent("departed", now(), "dep"))
    delivered = RouteEvent("delivered", now(1), "del-1", first)
    answers = [events.record(route_id, token, delivered)["outcome"] for _ in range(3)]
    assert answers == ["applied", "duplicate", "duplicate"]
    with pytest.raises(StopNotPending):  # the same delivery under another event id
        events.record(route_id, token, RouteEvent("delivered", now(2), "del-2", first))

    fact = bootstrap.fact_store().fact(first, "DELIVERY")
    assert fact is not None and fact.kind == "delivery" and fact.vehicle_id == route["vehicle_id"]
    assert totals(merchant.depot_id)["delivered"] == 1
    assert totals(merchant.depot_id)["orders"] == 1

    # Whatever slips past the receipt (its event id forgotten), the fact's own condition holds:
    # the transaction that would count it again writes nothing at all.
    tx = Transaction()
    bootstrap.fact_store().stage(tx, [fact])
    with pytest.raises(DuplicateEvent):
        tx.commit()
    assert totals(merchant.depot_id)["delivered"] == 1

    failed = RouteEvent("failed", now(3), "fail-1", second, reason="not_home")
    events.record(route_id, token, failed)
    events.record(route_id, token, failed)
    counted = totals(merchant.depot_id)
    assert counted["failed_attempts"] == 1 and counted["failed_not_home"] == 1
    assert counted["first_attempts"] == 2 and counted["first_attempt_successes"] == 1
    # The last stop served: the route's completion, once, against its plan.
    done = bootstrap.fact_store().fact(route_id, "ROUTE")
    assert done is not None and done.values["tasks"] == 2 and done.values["stops"] == 2
    assert counted["routes"] == 1 and counted["route_tasks"] == 2
    assert placed[0].merchant_id == merchant.merchant_id

    summary = bootstrap.analytics().summary(
        Viewer(merchant.merchant_id), today(merchant.depot_id), today(merchant.depot_id)
    )
    [group] = summary["groups"]
    assert (group["delivered"], group["failed_attempts"]) == (1, 1)
    assert group["first_attempt_success_rate"] == 0.5
    assert group["tasks_per_hour"] is None  # a merchant's view: routes are not split by merchant


def test_facts_of_one_cell_in_one_transaction_are_merged_into_one_update() -> None:
    def fact(subject: str) -> Fact:
        return Fact(
            "cancellation", subject, "CANCELLATION", "2026-03-01", "dep_m", "mer_m", "-", "x"
        )

    # Two subjects chosen to land in the same shard: DynamoDB refuses a transaction that
    # touches one item twice, so the store must merge them.
    subjects = [f"ord_{n}" for n in range(40)]
    shard = fact(subjects[0]).shard
    same = [s for s in subjects if fact(s).shard == shard][:2]
    tx = Transaction()
    bootstrap.fact_store().stage(tx, [fact(s) for s in same])
    tx.commit()
    [cell] = bootstrap.fact_store().cells(["2026-03-01"], depot_id="dep_m", merchant_id=None)
    assert cell.counters["cancelled"] == 2 and cell.counters["orders"] == 2


def test_an_expiry_a_cancellation_and_a_rating_each_leave_their_fact_once(
    keys: None, sfn: tuple[LocalStepFunctions, str]
) -> None:
    got = deposited(sfn)
    merchant, order_id = got["merchant"], got["order"].order_id
    store = bootstrap.fact_store()
    deposit = store.fact(order_id, "DELIVERY")
    assert deposit is not None and deposit.kind == "locker_deposit"
    assert deposit.values["locker_id"] == got["locker_id"]

    sweep, now_s = bootstrap.locker_sweep(), datetime.now(UTC).timestamp()
    assert sweep.sweep(now_s + 73 * 3600)["expired"] == 1
    expiry = store.fact(order_id, "LOCKER_EXPIRY")
    assert expiry is not None and expiry.values["deposited_at"] == deposit.at
    assert sweep.sweep(now_s + 74 * 3600)["expired"] == 0  # once

    cancelled = place(merchant, 2)
    inbound = Inbound("api", Action.CANCEL, cancelled.external_id)
    for _ in range(2):  # the storefront sends its cancel twice
        bootstrap.orders().ingest(merchant, inbound)
    fact = store.fact(cancelled.order_id, "CANCELLATION")
    assert fact is not None and fact.values["was"] == "ready"

    given = bootstrap.feedback_store()
    given.add(order_id, Feedback(4, "fine", now()))
    with pytest.raises(FeedbackAlreadyGiven):
        given.add(order_id, Feedback(1, "again", now()))
    rating = store.fact(order_id, "RATING")
    assert rating is not None and rating.day == deposit.day  # with the delivery it rates

    assert expiry.day > deposit.day  # the sweep's day, three days on
    assert totals(merchant.depot_id, expiry.day) == {"expiries": 1, "returned": 1}
    counted = totals(merchant.depot_id)
    assert counted["deposits"] == 1 and "expiries" not in counted
    assert counted["cancelled"] == 1 and counted["orders"] == 2  # the deposit and the cancel
    assert counted["ratings"] == 1 and counted["rating_4"] == 1
