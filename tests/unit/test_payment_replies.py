"""The delivery options and payments answers, built by their reply models from the real
services over the in-process store: each is the body the hand-built dicts sent before, field for
field (nulls included), and is what the OpenAPI document describes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from chalicelib.api.openapi import document
from chalicelib.api.payment_replies import BillingOut, DeliveryOptionsOut, PriceListOut, UsageOut
from chalicelib.api.payments import PriceListIn
from chalicelib.billing.usage import UsageBilling
from chalicelib.delivery_options.service import DeliveryOptions as OptionsService
from chalicelib.delivery_options.service import Quote
from chalicelib.domain.lockers import Compartment, Locker
from chalicelib.domain.money import Money
from chalicelib.domain.order import Order, receive
from chalicelib.domain.tenancy import Depot, Merchant, Vehicle
from chalicelib.intake.canonical import parse_order
from chalicelib.lockers.choices import CHOICE_RADIUS_M
from chalicelib.lockers.directory import LockerDirectory
from chalicelib.store.billing import BillingStore
from chalicelib.store.delivery_options import DeliveryOptionStore
from chalicelib.store.lockers import LockerRepository
from tests.builders import an_order

NOW = datetime(2026, 12, 1, 7, 40, tzinfo=UTC)
MERCHANT = Merchant("mer_pay", "Pay & Co", "dep_pay", "2026-11-01T09:00:00Z")
DEPOT = Depot("dep_pay", "Southwark", 51.5, -0.1, "Europe/London", "2026-11-01T09:00:00Z")
VAN = Vehicle("van-1", "van", 40, 400.0, "2026-12-01T08:00:00+00:00", "2026-12-01T13:00:00+00:00")
PRICES = {
    "currency": "eur",
    "prices": {"standard": 490, "express": 1290, "slot": 790, "locker": 350},
    "slot_prices": {"11:00": 990},
    "weight_surcharges": [{"over_kg": 1, "amount": 100}],
    "distance_surcharges": [{"over_km": 8, "amount": 200}],
    "actions": {"extension": 0, "reschedule": 300},
}


@pytest.fixture(autouse=True)
def _tables(models_in_process: Callable[[str], Any]) -> None:
    models_in_process("payment-replies-main")


def valid(name: str, answer: dict[str, Any]) -> None:
    schema = {"$ref": f"#/components/schemas/{name}", "components": document()["components"]}
    Draft202012Validator(schema).validate(answer)


class Fleet:
    """The accounts port a quote reads: one depot and its vans."""

    def depot_fleet(self, depot_id: str) -> tuple[Depot, list[Vehicle]]:
        assert depot_id == DEPOT.depot_id
        return DEPOT, [VAN]


def options_service() -> OptionsService:
    # The locker lookup as bootstrap wires it, over the real directory and its stored doors.
    directory = LockerDirectory(LockerRepository(), clock=NOW.timestamp)

    def nearest_locker(lat: float, lng: float, depot_id: str, sizes: list[str]) -> Any:
        found = directory.near(lat, lng, depot_id, sizes, limit=1, radius_m=CHOICE_RADIUS_M)
        return found[0] if found else None

    return OptionsService(
        DeliveryOptionStore(), Fleet(), clock=lambda: NOW, nearest_locker=nearest_locker
    )


def test_a_price_list_is_answered_as_put_and_as_read_back() -> None:
    service = options_service()
    saved = service.set_price_list(MERCHANT, PriceListIn.model_validate(PRICES).price_list())
    read_back = service.price_list(MERCHANT)
    assert read_back is not None

    expected = {
        "currency": "EUR",
        "prices": {"standard": 490, "express": 1290, "slot": 790, "locker": 350},
        "slot_prices": {"11:00": 990},
        "weight_surcharges": [{"over_kg": 1.0, "amount": 100}],
        "distance_surcharges": [{"over_km": 8.0, "amount": 200}],
        "actions": {"reschedule": 300},  # a free action is not priced
    }
    assert PriceListOut.of(saved).body() == expected
    assert PriceListOut.of(read_back).body() == expected
    valid("PriceListOut", expected)


def test_a_bare_price_list_sends_its_empty_parts_and_a_zero_price() -> None:
    service = options_service()
    bare = PriceListIn.model_validate({"currency": "GBP", "prices": {"standard": 0}})
    service.set_price_list(MERCHANT, bare.price_list())
    read_back = service.price_list(MERCHANT)
    assert read_back is not None

    answer = PriceListOut.of(read_back).body()

    assert answer == {
        "currency": "GBP",
        "prices": {"standard": 0},
        "slot_prices": {},
        "weight_surcharges": [],
        "distance_surcharges": [],
        "actions": {},
    }
    valid("PriceListOut", answer)


def _rate(option_id: str, amount: int, name: str, low: int, high: int) -> dict[str, Any]:
    return {
        "type": "fixed_amount",
        "fixed_amount": {"amount": amount, "currency": "eur"},
        "display_name": name,
        "delivery_estimate": {
            "minimum": {"unit": "hour", "value": low},
            "maximum": {"unit": "hour", "value": high},
        },
        "metadata": {"lastmile_option_id": option_id},
    }


def test_the_options_quoted_are_answered_field_for_field_with_their_stripe_rates() -> None:
    service = options_service()
    service.set_price_list(MERCHANT, PriceListIn.model_validate(PRICES).price_list())
    locker = Locker("lk_pay", "London Bridge Station", 51.5065, -0.0754, "dep_pay", "2026-11-01")
    LockerRepository().create(locker, "hash", [Compartment("A1", "M"), Compartment("A2", "L")])
    quote = Quote(lat=51.5055, lng=-0.0754, weights_kg=(1.2,), sizes=(None,))

    offered = service.quote(MERCHANT, quote)
    answer = DeliveryOptionsOut.of(offered).body()

    ids = [o["option_id"] for o in answer["options"]]
    assert len(set(ids)) == 5 and all(i.startswith("opt_") for i in ids)
    slot_9, slot_11, express, standard, at_locker = ids
    held = "2026-12-01T07:55:00Z"  # 15 minutes from now
    day = {"start": "2026-12-01T09:00:00Z", "end": "2026-12-01T13:00:00Z"}
    # Each price has the weight band's 100 over 1 kg; the depot is 1.8 km away, under 8 km.
    assert answer == {
        "options": [
            {
                "option_id": slot_9,
                "type": "slot",
                "window": {"start": "2026-12-01T09:00:00Z", "end": "2026-12-01T11:00:00Z"},
                "price": {"amount": 890, "currency": "EUR"},
                "expires_at": held,
                "stripe_shipping_rate_data": _rate(slot_9, 890, "Delivery 09:00-11:00", 1, 4),
            },
            {
                "option_id": slot_11,
                "type": "slot",
                "window": {"start": "2026-12-01T11:00:00Z", "end": "2026-12-01T13:00:00Z"},
                "price": {"amount": 1090, "currency": "EUR"},  # the 11:00 slot's own price
                "expires_at": held,
                "stripe_shipping_rate_data": _rate(slot_11, 1090, "Delivery 11:00-13:00", 3, 6),
            },
            {
                "option_id": express,
                "type": "express",
                "window": {"start": "2026-12-01T08:10:00Z", "end": "2026-12-01T11:00:00Z"},
                "price": {"amount": 1390, "currency": "EUR"},
                "expires_at": held,
                "stripe_shipping_rate_data": _rate(express, 1390, "Express delivery", 1, 4),
            },
            {
                "option_id": standard,
                "type": "standard",
                "window": day,
                "price": {"amount": 590, "currency": "EUR"},
                "expires_at": held,
                "stripe_shipping_rate_data": _rate(standard, 590, "Standard delivery", 1, 6),
            },
            {
                "option_id": at_locker,
                "type": "locker",
                "window": day,
                "price": {"amount": 450, "currency": "EUR"},
                "expires_at": held,
                "stripe_shipping_rate_data": _rate(at_locker, 450, "Collect from a locker", 1, 6),
                "locker": {
                    "locker_id": "lk_pay",
                    "name": "London Bridge Station",
                    "distance_m": 111,
                },
            },
        ]
    }
    assert answer == {"options": offered}  # nothing the service gave is lost or added
    valid("DeliveryOptionsOut", answer)


def test_a_full_fleet_is_answered_with_no_options_and_a_field_not_named_never_reaches_one() -> None:
    service = options_service()
    service.set_price_list(MERCHANT, PriceListIn.model_validate(PRICES).price_list())
    too_many = Quote(lat=51.5055, lng=-0.0754, weights_kg=(1.0,) * 17)  # a slot seats 16

    none = DeliveryOptionsOut.of(service.quote(MERCHANT, too_many)).body()

    assert none == {"options": []}
    valid("DeliveryOptionsOut", none)
    [option, *_] = service.quote(MERCHANT, Quote(lat=None, lng=None, weights_kg=(1.0,)))
    with pytest.raises(ValidationError):
        DeliveryOptionsOut.of([{**option, "seats": ["SEAT#0001"]}])


class Merchants:
    def merchant(self, merchant_id: str) -> Merchant:
        assert merchant_id == MERCHANT.merchant_id
        return MERCHANT


class Orders:
    def __init__(self, *orders: Order) -> None:
        self._orders = {o.order_id: o for o in orders}

    def get(self, order_id: str) -> Order | None:
        return self._orders.get(order_id)


class RecordingMeter:
    """Stripe Billing's meter events as the usage reporter sends them."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def report_usage(
        self, *, customer_id: str, identifier: str, value: int, timestamp: int
    ) -> None:
        self.events.append({"customer_id": customer_id, "identifier": identifier, "value": value})


def two_parcel_order(order_id: str) -> Order:
    draft = parse_order(an_order(parcels=[{"weight_kg": 1.0}, {"weight_kg": 2.0}]))
    order, _ = receive(
        draft, merchant_id=MERCHANT.merchant_id, depot_id="dep_pay", source="api", order_id=order_id
    )
    return order


def test_billing_is_answered_as_set_and_as_stored() -> None:
    billing = UsageBilling(BillingStore(), Orders(), Merchants(), RecordingMeter)

    put = billing.set_billing("mer_pay", "cus_Lastmile42", Money(35, "EUR"))
    answer = BillingOut.of(put).body()

    stored = billing.billing("mer_pay")
    assert stored is not None
    assert answer == {
        "merchant_id": "mer_pay",
        "stripe_customer_id": "cus_Lastmile42",
        "price_per_parcel": {"amount": 35, "currency": "EUR"},
        "updated_at": stored.updated_at,
    }
    assert datetime.fromisoformat(answer["updated_at"]).tzinfo is not None
    assert BillingOut.of(stored).body() == answer
    valid("BillingOut", answer)


def test_usage_sends_a_null_currency_until_a_parcel_is_counted_at_a_price() -> None:
    meter = RecordingMeter()
    orders = Orders(two_parcel_order("ord_unpriced"), two_parcel_order("ord_priced"))
    billing = UsageBilling(BillingStore(), orders, Merchants(), lambda: meter)

    nothing = UsageOut.of("2026-11", billing.usage("mer_pay", "2026-11")).body()
    delivered = {"type": "order.delivered", "at": "2026-11-20T10:00:00Z"}
    billing.handle({**delivered, "order_id": "ord_unpriced"})  # no Stripe customer yet
    unpriced = UsageOut.of("2026-11", billing.usage("mer_pay", "2026-11")).body()
    billing.set_billing("mer_pay", "cus_Lastmile42", Money(35, "EUR"))
    billing.handle({**delivered, "order_id": "ord_priced"})
    priced = UsageOut.of("2026-11", billing.usage("mer_pay", "2026-11")).body()

    empty = {"month": "2026-11", "delivered_parcels": 0, "amount": 0, "reported_to_stripe": 0}
    assert nothing == empty | {"currency": None}
    assert unpriced == empty | {"delivered_parcels": 2, "currency": None}
    assert priced == {
        "month": "2026-11",
        "delivered_parcels": 4,
        "amount": 70,
        "currency": "EUR",
        "reported_to_stripe": 2,
    }
    assert [e["identifier"] for e in meter.events] == ["lm_ord_priced_p0", "lm_ord_priced_p1"]
    for answer in (nothing, unpriced, priced):
        valid("UsageOut", answer)
