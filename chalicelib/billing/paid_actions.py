"""Paid customer actions on the tracking page (another day after a failed attempt, more time at
a locker, a redirect to a locker): when the merchant prices one, the action waits for a Stripe
Checkout session to be paid and happens when Stripe's checkout.session.completed arrives, once
(a second delivery of the event changes nothing; a session abandoned or expired never arrives,
so nothing happens)."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from chalicelib.billing.stripe_api import CheckoutSession, StripeApi
from chalicelib.delivery_options.pricing import PriceList
from chalicelib.domain.errors import DomainError
from chalicelib.domain.order import Order
from chalicelib.domain.times import utc_now
from chalicelib.store.models.billing import PaidActionItem
from chalicelib.store.reads import get_one
from chalicelib.store.transaction import failing_as

logger = Logger(child=True)

METADATA_KEY = "lastmile_paid_action"
SESSION_S = 30 * 60  # Stripe's shortest Checkout session life
KEPT = timedelta(days=7)
NAMES = {
    "extension": "48 more hours to collect your parcel",
    "locker": "Delivery to a locker",
    "reschedule": "Delivery on another day",
}


class AlreadyApplied(DomainError):
    code = "already_applied"


@dataclass(frozen=True)
class Action:
    """What an action checks before the customer pays (so nobody pays for a refusal), and
    what it does once paid."""

    check: Callable[[Order, dict[str, str]], None]
    apply: Callable[[Order, dict[str, str]], Any]


class Orders(Protocol):
    def get(self, order_id: str) -> Order | None: ...


def _key(action_id: str) -> tuple[str, str]:
    return f"PAIDACTION#{action_id}", "PAIDACTION"


class PaidActions:
    def __init__(
        self,
        orders: Orders,
        prices: Callable[[str], PriceList | None],
        stripe: Callable[[], StripeApi],
        actions: dict[str, Action],
        public_base_url: str,
    ) -> None:
        self._orders = orders
        self._prices = prices
        self._stripe = stripe
        self._actions = actions
        self._base = public_base_url

    def offer(
        self, order: Order, action: str, params: dict[str, str]
    ) -> tuple[CheckoutSession, dict[str, Any]] | None:
        """A Checkout session for `action` when the merchant prices it (None: it is free, do
        it now). The action is checked first: a refusal is answered before anyone pays."""
        prices = self._prices(order.merchant_id)
        price = prices.action_price(action) if prices else None
        if price is None:
            return None
        self._actions[action].check(order, params)
        action_id = "pa_" + secrets.token_urlsafe(18)
        page = f"{self._base}/track/{order.tracking_code}"
        session = self._stripe().create_checkout(
            name=NAMES[action],
            price=price,
            success_url=page,
            cancel_url=page,
            metadata={METADATA_KEY: action_id},
            expires_at=int(time.time()) + SESSION_S,
            idempotency_key=action_id,
        )
        PaidActionItem(
            *_key(action_id),
            order_id=order.order_id,
            action=action,
            params=json.dumps(params),
            state="pending",
            session_id=session.session_id,
            created_at=utc_now(),
            expires_at=KEPT,
        ).save(condition=PaidActionItem.pk.does_not_exist())
        return session, price.view()

    def complete(self, action_id: str) -> tuple[str, Order | None]:
        """Stripe says the session was paid: the action happens, once. ("applied", order),
        ("duplicate", order) for an event delivered again, ("unknown", None)."""
        item = get_one(PaidActionItem, *_key(action_id))
        if item is None:
            return "unknown", None
        order = self._orders.get(item.order_id)
        if item.state == "done" or order is None:
            return "duplicate", order
        outcome = "applied"
        try:
            # Applied before it is marked done: a crash between the two leaves it pending and
            # Stripe's retry applies it (each action is itself once-only or idempotent).
            self._actions[item.action].apply(order, json.loads(item.params))
        except DomainError as exc:
            outcome = f"refused: {exc.code}"  # e.g. collected meanwhile: paid, not applied
            logger.warning(
                "paid action not applied", extra={"action": item.action, "code": exc.code}
            )
        try:
            with failing_as(AlreadyApplied(f"paid action {action_id} was applied")):
                PaidActionItem(*_key(action_id)).update(
                    [PaidActionItem.state.set("done"), PaidActionItem.outcome.set(outcome)],
                    condition=PaidActionItem.state == "pending",
                )
        except AlreadyApplied:
            return "duplicate", self._orders.get(item.order_id)
        return outcome, self._orders.get(item.order_id)
