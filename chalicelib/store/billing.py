"""Merchants' billing settings and their delivered parcels counted per month: each order's
usage and the month's counters move in one transaction, so a retried delivery message, a
parked retry or a redriven batch never counts a parcel twice."""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.expressions.update import Action

from chalicelib.domain.errors import DuplicateEvent
from chalicelib.domain.money import Money
from chalicelib.store.models.billing import BillingItem, MonthUsageItem, OrderUsageItem
from chalicelib.store.reads import get_one
from chalicelib.store.transaction import Transaction


@dataclass(frozen=True)
class MerchantBilling:
    merchant_id: str
    stripe_customer_id: str
    price_per_parcel: Money
    updated_at: str


@dataclass(frozen=True)
class OrderUsage:
    merchant_id: str
    month: str  # YYYY-MM
    order_id: str
    parcels: int
    delivered_at: str
    stripe_customer_id: str | None
    reported: frozenset[int]


@dataclass(frozen=True)
class MonthUsage:
    delivered_parcels: int
    amount: int
    currency: str | None
    reported_to_stripe: int


def _billing_key(merchant_id: str) -> tuple[str, str]:
    return f"MERCHANT#{merchant_id}", "BILLING"


def _order_usage_key(merchant_id: str, month: str, order_id: str) -> tuple[str, str]:
    return f"USAGE#{merchant_id}#{month}", f"ORDER#{order_id}"


def _month_key(merchant_id: str, month: str) -> tuple[str, str]:
    return f"USAGE#{merchant_id}", f"MONTH#{month}"


class BillingStore:
    def set_billing(self, billing: MerchantBilling) -> None:
        BillingItem(
            *_billing_key(billing.merchant_id),
            stripe_customer_id=billing.stripe_customer_id,
            price_amount=billing.price_per_parcel.amount,
            price_currency=billing.price_per_parcel.currency,
            updated_at=billing.updated_at,
        ).save()

    def billing(self, merchant_id: str) -> MerchantBilling | None:
        item = get_one(BillingItem, *_billing_key(merchant_id))
        if item is None:
            return None
        return MerchantBilling(
            merchant_id,
            item.stripe_customer_id,
            Money(int(item.price_amount), item.price_currency),
            item.updated_at,
        )

    def record_delivered(
        self,
        merchant_id: str,
        month: str,
        order_id: str,
        parcels: int,
        delivered_at: str,
        billing: MerchantBilling | None,
    ) -> None:
        """Count an order's parcels into its month, once (a second call changes nothing)."""
        price = billing.price_per_parcel.times(parcels) if billing else None
        tx = Transaction()
        tx.put(
            OrderUsageItem(
                *_order_usage_key(merchant_id, month, order_id),
                order_id=order_id,
                parcels=parcels,
                delivered_at=delivered_at,
                amount=price.amount if price else 0,
                currency=price.currency if price else None,
                stripe_customer_id=billing.stripe_customer_id if billing else None,
            ),
            condition=OrderUsageItem.pk.does_not_exist(),
            on_fail=DuplicateEvent(f"order {order_id} is counted already"),
        )
        counter = MonthUsageItem(*_month_key(merchant_id, month))
        actions: list[Action] = [
            MonthUsageItem.delivered_parcels.add(parcels),
            MonthUsageItem.amount.add(price.amount if price else 0),
        ]
        if price is not None:
            actions.append(MonthUsageItem.currency.set(price.currency))
        tx.update(counter, actions)
        try:
            tx.commit()
        except DuplicateEvent:
            return

    def order_usage(self, merchant_id: str, month: str, order_id: str) -> OrderUsage | None:
        item = get_one(OrderUsageItem, *_order_usage_key(merchant_id, month, order_id))
        if item is None:
            return None
        return OrderUsage(
            merchant_id,
            month,
            order_id,
            int(item.parcels),
            item.delivered_at,
            item.stripe_customer_id,
            frozenset(int(n) for n in item.reported or ()),
        )

    def mark_reported(self, usage: OrderUsage, parcel: int) -> None:
        """Stripe has parcel `parcel` of the order: remember it and count it, once."""
        tx = Transaction()
        tx.update(
            OrderUsageItem(*_order_usage_key(usage.merchant_id, usage.month, usage.order_id)),
            [OrderUsageItem.reported.add({parcel})],
            condition=OrderUsageItem.pk.exists() & ~OrderUsageItem.reported.contains(parcel),
            on_fail=DuplicateEvent(f"parcel {parcel} of {usage.order_id} was reported already"),
        )
        tx.update(
            MonthUsageItem(*_month_key(usage.merchant_id, usage.month)),
            [MonthUsageItem.reported_to_stripe.add(1)],
        )
        try:
            tx.commit()
        except DuplicateEvent:
            return

    def month(self, merchant_id: str, month: str) -> MonthUsage:
        item = get_one(MonthUsageItem, *_month_key(merchant_id, month))
        if item is None:
            return MonthUsage(0, 0, None, 0)
        return MonthUsage(
            int(item.delivered_parcels or 0),
            int(item.amount or 0),
            item.currency,
            int(item.reported_to_stripe or 0),
        )
