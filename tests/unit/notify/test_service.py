"""The notification service against stateful fakes: once per channel, retries, refusals, skips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.errors import OrderNotFound
from chalicelib.domain.lifecycle import OrderStatus
from chalicelib.domain.order import Address, Customer, Delivery, Order, Parcel
from chalicelib.domain.tenancy import Depot, Merchant
from chalicelib.notify.messages import DeliveryDeferred
from chalicelib.notify.ports import PickupCodes
from chalicelib.notify.service import NotificationService, RetryPolicy
from tests.unit.notify.fakes import Accounts, Deliveries, Orders, RecordingEmail, RecordingSms

NOW = datetime(2025, 5, 14, 9, 0, tzinfo=UTC)


def an_order(**customer: Any) -> Order:
    fields = {"name": "Grace Hopper", "email": "grace@example.com", "phone": "07911 123456"}
    fields.update(customer)
    return Order(
        order_id="ord_1",
        merchant_id="mer_1",
        depot_id="dep_1",
        source="api",
        external_id="ext-1",
        tracking_code="ABCDEFGHJKLMNPQR",
        status=OrderStatus.READY,
        customer=Customer(**fields),
        address=Address("1 Road", "London", "NW1", "GB", lat=51.5, lng=-0.1),
        parcels=(Parcel(1.0),),
        delivery=Delivery(),
        created_at=NOW.isoformat(),
        updated_at=NOW.isoformat(),
    )


def message(message_type: str = "order.confirmed", **extra: Any) -> dict[str, Any]:
    return {
        "pk": "ORDER#ord_1",
        "sk": f"2025-05-14T09:00:00Z#{message_type}#abcd",
        "type": message_type,
        "order_id": "ord_1",
        "merchant_id": "mer_1",
        **extra,
    }


class World:
    def __init__(
        self,
        order: Order | None = None,
        opted_out: tuple[str, ...] = (),
        pickup_codes: PickupCodes | None = None,
    ) -> None:
        self.orders = Orders({"ord_1": order or an_order()})
        self.accounts = Accounts(
            {"mer_1": Merchant("mer_1", "Harbour Books", "dep_1", NOW.isoformat())},
            {"dep_1": Depot("dep_1", "Depot", 51.5, -0.1, "Europe/London", NOW.isoformat())},
        )
        self.deliveries = Deliveries()
        self.email = RecordingEmail()
        self.sms = RecordingSms(opted_out)
        self.waits: list[float] = []
        self.now = NOW
        self.service = NotificationService(
            orders=self.orders,
            accounts=self.accounts,
            deliveries=self.deliveries,
            email=self.email,
            sms=self.sms,
            public_base_url="https://lastmile.example/",
            retry=RetryPolicy(attempts=3, first_wait_s=0.5),
            sleep=self.waits.append,
            clock=lambda: self.now,
            pickup_codes=pickup_codes,
        )


def test_a_message_is_sent_once_by_email_and_once_by_sms() -> None:
    world = World()

    world.service.handle(message())

    [email], [sms] = world.email.sent, world.sms.sent
    assert email.to == "grace@example.com" and email.sender_name == "Harbour Books"
    assert "https://lastmile.example/track/ABCDEFGHJKLMNPQR" in email.text
    assert email.tags == {"order_id": "ord_1", "message_type": "order.confirmed"}
    assert sms.to == "+447911123456" and sms.body.startswith("Harbour Books: Hi Grace,")
    assert world.deliveries.states() == {"email": "sent", "sms": "sent"}


def test_the_same_message_delivered_again_sends_nothing_more() -> None:
    world = World()
    world.service.handle(message())

    outcomes = world.service.handle(message())

    assert len(world.email.sent) == 1 and len(world.sms.sent) == 1
    assert [o.state for o in outcomes] == [None, None]


def test_the_planned_eta_window_is_in_the_depot_local_time() -> None:
    world = World()
    world.service.handle(message("order.planned", eta="2025-05-14T13:45:00Z"))

    assert "between 14:15 and 15:15 (BST)" in world.email.sent[0].text


def test_a_throttled_vendor_is_retried_within_the_call_with_growing_waits() -> None:
    world = World()
    world.email.fail_with([429, 503])

    world.service.handle(message())

    assert len(world.email.sent) == 1 and world.email.calls == 3
    assert world.waits == [0.5, 1.0]
    [record] = [i for i in world.deliveries.items.values() if i["channel"] == "email"]
    assert record["state"] == "sent" and record["attempts"] == 3


def test_a_vendor_down_for_the_whole_call_leaves_a_retry_and_raises_for_redelivery() -> None:
    world = World()
    world.email.fail_with([500, 500, 500])

    with pytest.raises(DeliveryDeferred):
        world.service.handle(message())

    assert world.deliveries.states() == {"email": "retry", "sms": "sent"}  # sms went anyway
    world.service.handle(message())  # the stream delivers it again
    assert len(world.email.sent) == 1 and len(world.sms.sent) == 1
    assert world.deliveries.states() == {"email": "sent", "sms": "sent"}


def test_a_refusal_is_recorded_failed_with_the_answer_and_never_retried() -> None:
    world = World()
    world.email.fail_with([400])

    world.service.handle(message())
    world.service.handle(message())

    assert world.email.calls == 1 and world.email.sent == []
    [record] = [i for i in world.deliveries.items.values() if i["channel"] == "email"]
    assert record["state"] == "failed" and record["vendor_answer"] == "answer 400"


def test_an_invalid_phone_skips_the_sms_with_a_reason_and_still_emails() -> None:
    world = World(an_order(phone="12345"))

    world.service.handle(message())

    assert world.sms.sent == [] and len(world.email.sent) == 1
    [record] = [i for i in world.deliveries.items.values() if i["channel"] == "sms"]
    assert record["state"] == "skipped" and record["reason"].startswith("invalid phone number")


def test_an_opted_out_number_is_skipped() -> None:
    world = World(opted_out=("+447911123456",))

    world.service.handle(message())

    assert world.sms.sent == []
    assert world.service.list_for_order("ord_1")["sms"][0]["reason"] == "opted out of SMS"


def test_no_email_address_skips_email_only() -> None:
    world = World(an_order(email=None))

    world.service.handle(message())

    assert world.email.sent == [] and len(world.sms.sent) == 1
    assert world.deliveries.states() == {"email": "skipped", "sms": "sent"}


def test_a_claim_held_by_a_crashed_attempt_is_taken_over_after_its_lease() -> None:
    world = World()
    key = {"pk": "ORDER#ord_1", "sk": f"NOTIFY#{message()['sk']}#email"}
    world.deliveries.claim(
        key,
        order_id="ord_1",
        message_type="order.confirmed",
        channel="email",  # type: ignore[arg-type]
        now=NOW,
        lease=timedelta(minutes=2),
    )

    with pytest.raises(DeliveryDeferred):  # still held: come back later, do not drop it
        world.service.handle(message())
    assert world.email.sent == []

    world.now = NOW + timedelta(minutes=3)
    world.service.handle(message())
    assert len(world.email.sent) == 1 and len(world.sms.sent) == 1


def test_an_unknown_type_is_skipped_without_a_record() -> None:
    world = World()

    assert world.service.handle(message("order.ready")) == []
    assert world.deliveries.items == {} and world.email.sent == []


def test_list_for_order_shows_each_channel_and_hides_other_merchants_orders() -> None:
    world = World(an_order(phone=None))
    world.service.handle(message())

    listed = world.service.list_for_order("ord_1", merchant_id="mer_1")

    assert listed["email"][0]["state"] == "sent" and listed["email"][0]["message_id"] == "em-1"
    [sms] = listed["sms"]
    assert (sms["type"], sms["state"], sms["reason"]) == (
        "order.confirmed",
        "skipped",
        "no phone number",
    )
    with pytest.raises(OrderNotFound):
        world.service.list_for_order("ord_1", merchant_id="mer_other")
