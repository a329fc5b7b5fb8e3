"""The handoff's choices with stateful fakes: the cheapest fitting quote is accepted and the
order handed on once; no fitting quote gives it back as carrier_declined; a carrier that is
down raises (the outbox retries) and keeps the claim; an order that moved on is left alone."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.carriers.handoff import CarrierHandoffs, offer
from chalicelib.carriers.ports import (
    CarrierDeclined,
    CarrierJob,
    CarrierUnavailable,
    CarrierUpdate,
    Handoff,
    Money,
    Quote,
)
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.order import (
    Address,
    CarrierHandling,
    Customer,
    Order,
    OrderDraft,
    Parcel,
    receive,
)
from chalicelib.domain.tenancy import Depot
from chalicelib.domain.times import iso_z
from tests.builders import an_order


def a_ready_order() -> Order:
    body = an_order()
    draft = OrderDraft(
        external_id="x-1",
        customer=Customer(**body["customer"]),
        address=Address(**body["address"]),
        parcels=(Parcel(2.5, "M"),),
    )
    order, _ = receive(draft, merchant_id="m", depot_id="d", source="api")
    assert order.status is OrderStatus.READY
    return order


class FakeCarrier:
    def __init__(self, name: str, fee: int, *, down: bool = False) -> None:
        self.name, self.fee, self.down = name, fee, down
        self.created: list[str] = []
        self.cancelled: list[str] = []

    def quote(self, handoff: Handoff) -> Quote:
        if self.down:
            raise CarrierUnavailable("503")
        if self.fee < 0:
            raise CarrierDeclined("400 address_undeliverable")
        # Read at the call, as a carrier quotes: the suite may reach this test long after its
        # import, and at any hour (the drop-off halfway to the deadline is always in time).
        now = datetime.now(UTC)
        eta = iso_z(now + (datetime.fromisoformat(handoff.deliver_by) - now) / 2)
        expires = iso_z(now + timedelta(minutes=15))
        return Quote(self.name, f"q-{self.name}", Money(self.fee, "GBP"), eta, expires)

    def create(self, handoff: Handoff, quote: Quote) -> CarrierJob:
        self.created.append(handoff.order_id)
        return CarrierJob(self.name, f"job-{self.name}", "pending", quote.fee, quote.quote_id)

    def cancel(self, job_id: str) -> None:
        self.cancelled.append(job_id)

    def update(self, raw_body: bytes, headers: Mapping[str, str]) -> CarrierUpdate:
        raise NotImplementedError


class FakeJobs:
    def __init__(
        self, *, claimable: bool = True, hand_on_ok: bool = True, held: str = "carrier-handoff"
    ) -> None:
        self.claimable, self.hand_on_ok, self.held = claimable, hand_on_ok, held
        self.claims: list[str] = []
        self.chosen: list[str] = []
        self.handed: list[CarrierHandling] = []
        self.given_back: list[tuple[str, str]] = []

    def claim(self, order_id: str, now: int, until: int) -> str | None:
        assert until > now
        self.claims.append(order_id)
        return self.held if self.claimable else None

    def choose(self, order_id: str, carrier: str) -> bool:
        assert self.held == "carrier-handoff", "a carrier chosen before is not chosen again"
        self.chosen.append(carrier)
        self.held = f"carrier-handoff#{carrier}"
        return True

    def hand_on(self, order: Order, handling: CarrierHandling, eta: str, at: str) -> bool:
        if self.hand_on_ok:
            self.handed.append(handling)
        return self.hand_on_ok

    def give_back(self, order_id: str, reason: str) -> bool:
        self.given_back.append((order_id, reason))
        return True


class Store:
    def __init__(self, order: Order, carriers: list[dict]) -> None:
        self.order = order
        self.the_depot = Depot(
            "d", "Depot", 51.5, -0.12, "Europe/London", "t", carriers=tuple(carriers)
        )

    def get(self, order_id: str) -> Order | None:
        return self.order if order_id == self.order.order_id else None

    def depot(self, depot_id: str) -> Depot:
        return self.the_depot


def setting(name: str, amount: int = 1000, enabled: bool = True) -> dict:
    return {"carrier": name, "max_price": {"amount": amount, "currency": "GBP"}, "enabled": enabled}


def run(
    carriers: list[FakeCarrier], settings: list[dict], jobs: FakeJobs, order: Order | None = None
) -> tuple[str | None, Order]:
    order = order or a_ready_order()
    store = Store(order, settings)
    handoffs = CarrierHandoffs(store, store, jobs, {c.name: c for c in carriers})
    return handoffs.handle({"type": "carrier.offer", "order_id": order.order_id}), order


def test_only_a_fleet_shortage_is_offered_to_carriers() -> None:
    assert offer("capacity_short") == ("carrier.offer", {"reason": "capacity_short"})
    assert offer("outside_every_shift") is not None
    assert offer("locker_full") is None and offer("window_unreachable") is None


def test_the_cheapest_fitting_quote_is_accepted_and_the_order_handed_on() -> None:
    uber, doordash = FakeCarrier("uber_direct", 900), FakeCarrier("doordash_drive", 700)
    jobs = FakeJobs()
    outcome, order = run(
        [uber, doordash], [setting("uber_direct"), setting("doordash_drive")], jobs
    )
    assert outcome == "handed"
    assert doordash.created == [order.order_id] and uber.created == []
    assert [(h.name, h.fee_amount, h.quote_id) for h in jobs.handed] == [
        ("doordash_drive", 700, "q-doordash_drive")
    ]


def test_no_quote_under_the_maximum_gives_the_order_back_as_declined() -> None:
    uber = FakeCarrier("uber_direct", 1500)
    jobs = FakeJobs()
    outcome, order = run([uber], [setting("uber_direct", amount=1000)], jobs)
    assert outcome == "declined"
    assert jobs.given_back == [(order.order_id, "carrier_declined")] and uber.created == []


def test_a_disabled_carrier_is_not_asked() -> None:
    uber = FakeCarrier("uber_direct", 100)
    jobs = FakeJobs()
    outcome, _ = run([uber], [setting("uber_direct", enabled=False)], jobs)
    assert outcome is None and jobs.claims == []


def test_a_carrier_that_is_down_raises_for_a_retry_and_gives_nothing_back() -> None:
    uber = FakeCarrier("uber_direct", 500, down=True)
    jobs = FakeJobs()
    with pytest.raises(CarrierUnavailable):
        run([uber], [setting("uber_direct")], jobs)
    assert jobs.given_back == [] and jobs.handed == []


def test_one_carrier_down_does_not_stop_another_from_taking_it() -> None:
    uber, doordash = FakeCarrier("uber_direct", 500, down=True), FakeCarrier("doordash_drive", 800)
    jobs = FakeJobs()
    outcome, _ = run([uber, doordash], [setting("uber_direct"), setting("doordash_drive")], jobs)
    assert outcome == "handed" and jobs.handed[0].name == "doordash_drive"


def test_an_order_a_run_holds_is_left_alone() -> None:
    uber = FakeCarrier("uber_direct", 500)
    outcome, _ = run([uber], [setting("uber_direct")], FakeJobs(claimable=False))
    assert outcome is None and uber.created == []


def test_a_handoff_that_loses_the_order_meanwhile_calls_the_courier_off() -> None:
    uber = FakeCarrier("uber_direct", 500)
    outcome, _ = run([uber], [setting("uber_direct")], FakeJobs(hand_on_ok=False))
    assert outcome == "changed" and uber.cancelled == ["job-uber_direct"]


def test_an_order_already_with_a_carrier_is_not_offered_again() -> None:
    uber = FakeCarrier("uber_direct", 500)
    taken = replace(
        a_ready_order(),
        carrier=CarrierHandling("uber_direct", "job-1", "pending", 500, "GBP", "q-1"),
    )
    jobs = FakeJobs()
    outcome, _ = run([uber], [setting("uber_direct")], jobs, order=taken)
    assert outcome is None and jobs.claims == [] and uber.created == []


def test_the_carrier_is_chosen_on_the_claim_before_the_delivery_is_created() -> None:
    uber = FakeCarrier("uber_direct", 900)
    jobs = FakeJobs()
    outcome, _ = run([uber], [setting("uber_direct")], jobs)
    assert outcome == "handed" and jobs.chosen == ["uber_direct"]


def test_a_retry_after_a_carrier_was_chosen_asks_that_carrier_alone() -> None:
    # The last attempt chose Uber and may have created its delivery before it died: DoorDash,
    # cheaper now, is not asked, so the order is never handed to two carriers.
    uber, doordash = FakeCarrier("uber_direct", 900), FakeCarrier("doordash_drive", 100)
    jobs = FakeJobs(held="carrier-handoff#uber_direct")
    outcome, order = run(
        [uber, doordash], [setting("uber_direct"), setting("doordash_drive")], jobs
    )
    assert outcome == "handed" and uber.created == [order.order_id] and doordash.created == []
    assert jobs.handed[0].name == "uber_direct"


def a_cancelled_order_with(status: str) -> Order:
    return replace(
        a_ready_order(),
        status=OrderStatus.CANCELLED,
        carrier=CarrierHandling("uber_direct", "job-7", status, 500, "GBP", "q-7"),
    )


def cancelled(carrier: FakeCarrier, order: Order) -> str | None:
    store = Store(order, [setting("uber_direct")])
    handoffs = CarrierHandoffs(store, store, FakeJobs(), {carrier.name: carrier})
    return handoffs.handle({"type": "order.cancelled", "order_id": order.order_id})


def test_a_cancelled_order_calls_its_carriers_courier_off() -> None:
    uber = FakeCarrier("uber_direct", 500)
    assert cancelled(uber, a_cancelled_order_with("pickup")) == "called_off"
    assert uber.cancelled == ["job-7"]


def test_a_carrier_past_cancelling_is_too_late_and_a_finished_job_is_left_alone() -> None:
    class PickedUp(FakeCarrier):
        def cancel(self, job_id: str) -> None:
            raise CarrierDeclined("409 cannot cancel after pickup")

    assert cancelled(PickedUp("uber_direct", 500), a_cancelled_order_with("pending")) == (
        "too_late"
    )
    uber = FakeCarrier("uber_direct", 500)
    assert cancelled(uber, a_cancelled_order_with("delivered")) is None
    assert uber.cancelled == []


def test_a_carrier_down_when_calling_off_raises_for_a_retry() -> None:
    class Down(FakeCarrier):
        def cancel(self, job_id: str) -> None:
            raise CarrierUnavailable("503")

    with pytest.raises(CarrierUnavailable):
        cancelled(Down("uber_direct", 500), a_cancelled_order_with("pending"))


def test_an_order_not_cancelled_is_not_called_off() -> None:
    uber = FakeCarrier("uber_direct", 500)
    live = replace(a_cancelled_order_with("pending"), status=OrderStatus.PLANNED)
    assert cancelled(uber, live) is None and uber.cancelled == []
