"""Usage billing: each delivered parcel counted for its merchant's month and reported to Stripe
Billing as one meter event. An outbox handler, so a Stripe outage parks the work and a retry
goes on where it stopped; each parcel's identifier makes every repeat harmless at Stripe."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol

from chalicelib.domain.errors import Conflict, ValidationFailed
from chalicelib.domain.money import Money
from chalicelib.domain.order import Order
from chalicelib.domain.times import epoch_s, utc_now
from chalicelib.store.billing import BillingStore, MerchantBilling, MonthUsage

# The messages that mean the parcels reached the customer or their locker: the service done.
BILLED_MESSAGES = frozenset({"order.delivered", "order.in_locker"})
MONTH = re.compile(r"^20\d\d-(0[1-9]|1[0-2])$")


class CurrencyFixed(Conflict):
    """A merchant's months are counted in one currency: its price cannot move to another."""

    code = "currency_fixed"


class Orders(Protocol):
    def get(self, order_id: str) -> Order | None: ...


class Merchants(Protocol):
    def merchant(self, merchant_id: str) -> Any: ...


class UsageReporter(Protocol):
    def report_usage(
        self, *, customer_id: str, identifier: str, value: int, timestamp: int
    ) -> None: ...


def parcel_identifier(order_id: str, parcel: int) -> str:
    """The meter event's identifier: one per parcel, whatever the retries (Stripe: <= 100)."""
    return f"lm_{order_id}_p{parcel}"


class UsageBilling:
    def __init__(
        self,
        store: BillingStore,
        orders: Orders,
        merchants: Merchants,
        stripe: Callable[[], UsageReporter],
    ) -> None:
        # Built when first needed: a merchant without a Stripe customer needs no Stripe key.
        self._store = store
        self._orders = orders
        self._merchants = merchants
        self._stripe = stripe

    def set_billing(self, merchant_id: str, customer_id: str, price: Money) -> MerchantBilling:
        """The operator sets whom Stripe bills for the merchant's parcels, and at what price
        (from now: parcels counted before keep the price they were counted at)."""
        self._merchants.merchant(merchant_id)  # MerchantNotFound: 404
        before = self._store.billing(merchant_id)
        if before is not None and before.price_per_parcel.currency != price.currency:
            raise CurrencyFixed(
                f"price_per_parcel.currency: the merchant is billed in "
                f"{before.price_per_parcel.currency}",
                field="price_per_parcel.currency",
            )
        billing = MerchantBilling(merchant_id, customer_id, price, utc_now())
        self._store.set_billing(billing)
        return billing

    def billing(self, merchant_id: str) -> MerchantBilling | None:
        return self._store.billing(merchant_id)

    def usage(self, merchant_id: str, month: str) -> MonthUsage:
        if not MONTH.match(month):
            raise ValidationFailed("month: YYYY-MM, e.g. 2026-12", field="month")
        return self._store.month(merchant_id, month)

    def handle(self, message: dict[str, Any]) -> None:
        """The outbox handler: a delivered order's parcels counted once and each reported."""
        if message.get("type") not in BILLED_MESSAGES:
            return
        order = self._orders.get(str(message["order_id"]))
        if order is None:
            return
        delivered_at = str(message.get("at") or order.updated_at)
        month = delivered_at[:7]
        billing = self._store.billing(order.merchant_id)
        self._store.record_delivered(
            order.merchant_id, month, order.order_id, len(order.parcels), delivered_at, billing
        )
        usage = self._store.order_usage(order.merchant_id, month, order.order_id)
        if usage is None or usage.stripe_customer_id is None:
            return  # counted; no Stripe customer to bill it to
        stripe = self._stripe()
        for parcel in range(usage.parcels):
            if parcel in usage.reported:
                continue
            # A failure here parks the work; the next attempt skips what Stripe already has.
            stripe.report_usage(
                customer_id=usage.stripe_customer_id,
                identifier=parcel_identifier(order.order_id, parcel),
                value=1,
                timestamp=epoch_s(usage.delivered_at),
            )
            self._store.mark_reported(usage, parcel)
