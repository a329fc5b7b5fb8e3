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
from chalicelib.store.transaction import Transaction
from chalicelib.tracking.route_events import RouteEvent
from tests.integration.test_dispatch import place, run_to_end, sfn, tenant

__all__ = ["sfn"]

pytestmark = pytest.mark.usefixtures("aws")


def now(minutes: float = 0) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


def today(depot_id: str) -> str:
    return local_day(now(), zone_of("Europe/London"))


def totals(depot_id: str) -> dict[str, float]:
    cells = bootstrap.fact_store().cells([today(depot_id)], depot_id=depot_id, merchant_id=None)
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
