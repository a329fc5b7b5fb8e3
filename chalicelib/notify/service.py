"""The notification service: turns one outbox message into the customer's email and SMS,
each sent at most once and recorded (sent, failed, skipped, or retry) beside the order."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger

from chalicelib.domain.errors import DepotNotFound, OrderNotFound
from chalicelib.domain.order import Order
from chalicelib.notify.messages import (
    Channel,
    DeliveryDeferred,
    Email,
    Sms,
    State,
    VendorRejected,
    VendorUnavailable,
)
from chalicelib.notify.phones import InvalidPhoneNumber, to_e164
from chalicelib.notify.ports import (
    Accounts,
    Deliveries,
    EmailChannel,
    OrderSource,
    PickupCodes,
    SmsChannel,
)
from chalicelib.notify.rendering import Notice, Renderer, eta_window, local_time, locker_place
from chalicelib.orders.views import tracking_url
from chalicelib.store.notification_log import notification_key

logger = Logger(child=True)

# Types whose message shows the ETA window (from the message, else the order's).
_WITH_ETA = frozenset(
    {
        "order.planned",
        "order.out_for_delivery",
        "order.arriving",
        "order.delayed",
        "order.retimed",
    }
)
# Types whose message carries a sealed pickup code, opened only to render each channel's copy.
_WITH_CODE = frozenset({"order.in_locker"})
_CODE_SHAPE = re.compile(r"[0-9]{4,12}")  # the SMS budget counts on at most 12 digits
_ROTATIONS = frozenset({"resend", "extend"})
_DONE = frozenset({State.SENT, State.FAILED, State.SKIPPED})
# The drivers' failure catalogue (tracking/route_events.py) in customers' words.
REASON_WORDS = {
    "not_home": "nobody was home",
    "no_access": "we could not get access",
    "refused": "the parcel was refused",
    "damaged": "the parcel was damaged",
    "address_wrong": "the address looks wrong",
    "unsafe_to_leave": "it was not safe to leave it",
    "business_closed": "the business was closed",
    "other": "something stopped us",
}


@dataclass(frozen=True)
class Outcome:
    channel: Channel
    state: State | None  # None: done before (a redelivered message), nothing attempted
    detail: str | None = None


class PickupCodeUnavailable(Exception):
    """The message's pickup code cannot be opened; its text never holds the code."""


@dataclass(frozen=True)
class RetryPolicy:
    """Tries per call on a vendor that is throttling or failing, with doubling waits."""

    attempts: int = 3
    first_wait_s: float = 0.5
    lease: timedelta = timedelta(minutes=2)  # longer than the consumer function's timeout


def _utc_now() -> datetime:
    return datetime.now(UTC)


class NotificationService:
    def __init__(
        self,
        *,
        orders: OrderSource,
        accounts: Accounts,
        deliveries: Deliveries,
        email: EmailChannel,
        sms: SmsChannel,
        public_base_url: str,
        renderer: Renderer | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = _utc_now,
        pickup_codes: PickupCodes | None = None,
    ) -> None:
        """Without `pickup_codes`, a message with a sealed pickup code cannot be opened: it is
        recorded failed on each channel, as a broken seal is."""
        self._orders = orders
        self._accounts = accounts
        self._deliveries = deliveries
        self._email = email
        self._sms = sms
        self._base_url = public_base_url.rstrip("/")
        self._renderer = renderer or Renderer()
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._pickup_codes = pickup_codes

    def handle(self, message: dict[str, Any]) -> list[Outcome]:
        """Send one outbox message on every channel not yet done. Raises DeliveryDeferred when
        a vendor stayed unavailable (after the other channels were tried), so the stream
        delivers the message again; a channel already done is never sent twice."""
        message_type = str(message.get("type", ""))
        if not self._renderer.knows(message_type):
            logger.info("notify: message type not for customers, skipped", type=message_type)
            return []
        order = self._orders.get(str(message["order_id"]))
        if order is None:
            logger.warning("notify: order not found, skipped", order_id=message["order_id"])
            return []
        merchant = self._accounts.merchant(order.merchant_id)
        notice = self._notice(message_type, message, order, merchant.name)
        switched_off = set(merchant.notifications_off)
        outcomes = [
            self._deliver(
                channel, message, order, notice, f"{message_type}:{channel}" in switched_off
            )
            for channel in Channel
        ]
        deferred = [o for o in outcomes if o.state in (State.RETRY, State.SENDING)]
        if deferred:
            raise DeliveryDeferred(
                f"{message_type} for {order.order_id}: "
                + "; ".join(f"{o.channel} {o.detail}" for o in deferred)
            )
        return outcomes

    def list_for_order(self, order_id: str, merchant_id: str | None = None) -> dict[str, Any]:
        """What the customer was sent about the order, by channel; with `merchant_id`, another
        merchant's order is not found."""
        if merchant_id is not None:
            order = self._orders.get(order_id)
            if order is None or order.merchant_id != merchant_id:
                raise OrderNotFound(f"no order {order_id}")
        by_channel: dict[str, list[dict[str, Any]]] = {str(c): [] for c in Channel}
        for record in self._deliveries.for_order(order_id):
            entry = {
                "type": record.message_type,
                "state": str(record.state),
                "to": record.to,
                "message_id": record.message_id,
                "reason": record.reason,
                "vendor_status": record.vendor_status,
                "vendor_answer": record.vendor_answer,
                "attempts": record.attempts,
                "at": record.updated_at or record.claimed_at,
            }
            by_channel.setdefault(record.channel, []).append(
                {k: v for k, v in entry.items() if v is not None}
            )
        return {"order_id": order_id, **by_channel}

    def _notice(
        self, message_type: str, message: dict[str, Any], order: Order, merchant: str
    ) -> Notice:
        eta = pickup_by = None
        if message_type in _WITH_ETA:
            # The window told with the message's ETA; for one without, the order's own.
            if message.get("eta"):
                at, told = message["eta"], message.get("eta_window")
            else:
                at, told = order.eta, {"start": order.eta_from, "end": order.eta_to}
            eta = eta_window(at, self._timezone(order), told)
        if message.get("pickup_by"):
            pickup_by = local_time(str(message["pickup_by"]), self._timezone(order))
        rotated = message.get("rotated")
        return Notice(
            type=message_type,
            first_name=order.customer.first_name,
            merchant=merchant,
            tracking_url=tracking_url(self._base_url, order),
            eta=eta,
            reason=REASON_WORDS.get(str(message.get("reason")), message.get("reason")),
            next_step=message.get("next"),
            locker=locker_place(message.get("locker")),
            pickup_by=pickup_by,
            rotated=rotated if rotated in _ROTATIONS else None,
            alternative=locker_place(message.get("alternative")),
        )

    def _pickup_code(self, order_id: str, sealed: Any) -> str:
        """The message's pickup code, opened from its seal (bound to the order) just before it
        is rendered; raises PickupCodeUnavailable, whose reason is safe to record and log."""
        if not isinstance(sealed, str) or not sealed:
            raise PickupCodeUnavailable("pickup code not sent: the message carries none")
        if self._pickup_codes is None:
            raise PickupCodeUnavailable("pickup code not sent: no key to open it is configured")
        try:
            code = self._pickup_codes.open(sealed, order_id)
        except ValueError as exc:  # SealBroken, and the base64 or AES-GCM errors of a bad seal
            raise PickupCodeUnavailable(
                f"pickup code not sent: its seal does not open ({type(exc).__name__})"
            ) from exc
        if not _CODE_SHAPE.fullmatch(code):
            raise PickupCodeUnavailable("pickup code not sent: the seal holds no pickup code")
        return code

    def _timezone(self, order: Order) -> str | None:
        try:
            return self._accounts.depot(order.depot_id).timezone
        except DepotNotFound:
            return None  # the window is shown in UTC then

    def _deliver(
        self,
        channel: Channel,
        message: dict[str, Any],
        order: Order,
        notice: Notice,
        switched_off: bool = False,
    ) -> Outcome:
        key = notification_key(order.order_id, str(message["sk"]), channel)
        claimed = self._deliveries.claim(
            key,
            order_id=order.order_id,
            message_type=notice.type,
            channel=channel,
            now=self._clock(),
            lease=self._retry.lease,
        )
        if not claimed:
            state = self._deliveries.state(key)
            if state in _DONE:
                return Outcome(channel, None, f"already {state}")
            # Another attempt holds it (or crashed holding it): come back after its lease.
            return Outcome(channel, State.SENDING, "held by another attempt")
        if switched_off:
            return self._skip(key, channel, "switched off by the merchant")
        try:
            return self._attempt(channel, key, order, notice, message.get("pickup_code_sealed"))
        except BaseException:
            # Whatever broke after the claim, let the next delivery of the message claim it.
            self._finish(key, State.RETRY, 0, reason="interrupted by an unexpected error")
            raise

    def _attempt(
        self,
        channel: Channel,
        key: dict[str, str],
        order: Order,
        notice: Notice,
        sealed_code: Any = None,
    ) -> Outcome:
        tags = {"order_id": order.order_id, "message_type": notice.type}
        send: Callable[[], str | None]
        if channel is Channel.EMAIL:
            to = order.customer.email
            if not to or "@" not in to:
                return self._skip(key, channel, "no email address")
        else:
            if not order.customer.phone:
                return self._skip(key, channel, "no phone number")
            try:
                to = to_e164(order.customer.phone, order.address.country)
            except InvalidPhoneNumber as exc:
                return self._skip(key, channel, f"invalid phone number: {exc}")
        if notice.type in _WITH_CODE:
            try:
                notice = replace(notice, pickup_code=self._pickup_code(order.order_id, sealed_code))
            except PickupCodeUnavailable as exc:
                # Final: sending it again cannot open it; the customer can ask for a new code.
                self._finish(key, State.FAILED, 0, to=to, reason=str(exc))
                logger.warning(
                    "notify: pickup code unavailable, message failed",
                    order_id=order.order_id,
                    channel=str(channel),
                    reason=str(exc),
                )
                return Outcome(channel, State.FAILED, str(exc))
        if channel is Channel.EMAIL:
            rendered = self._renderer.email(notice)
            email = Email(
                to,
                rendered.subject,
                rendered.html,
                rendered.text,
                notice.merchant,
                tags,
                rendered.attachments,
            )

            def send() -> str | None:
                return self._email.send(email)

        else:
            sms = Sms(to, self._renderer.sms(notice), tags)

            def send() -> str | None:
                # None: the customer opted out of SMS (checked each try: it can change).
                return None if self._sms.opted_out(sms.to) else self._sms.send(sms)

        last: VendorUnavailable | None = None
        for tries in range(1, self._retry.attempts + 1):
            try:
                message_id = send()
            except VendorRejected as exc:
                self._finish(
                    key,
                    State.FAILED,
                    tries,
                    to=to,
                    reason=str(exc),
                    vendor_status=str(exc.status),
                    vendor_answer=exc.answer,
                )
                logger.warning("notify: vendor refused", channel=str(channel), error=str(exc))
                return Outcome(channel, State.FAILED, exc.answer)
            except VendorUnavailable as exc:
                last = exc
                if tries < self._retry.attempts:
                    self._sleep(self._retry.first_wait_s * 2 ** (tries - 1))
                continue
            if message_id is None:
                self._finish(key, State.SKIPPED, tries, to=to, reason="opted out of SMS")
                return Outcome(channel, State.SKIPPED, "opted out of SMS")
            self._finish(key, State.SENT, tries, to=to, message_id=message_id)
            return Outcome(channel, State.SENT, message_id)
        assert last is not None
        self._finish(
            key,
            State.RETRY,
            self._retry.attempts,
            to=to,
            reason=str(last),
            vendor_status=str(last.status),
            vendor_answer=last.answer,
        )
        logger.warning("notify: vendor unavailable, retry later", channel=str(channel))
        return Outcome(channel, State.RETRY, str(last))

    def _skip(self, key: dict[str, str], channel: Channel, reason: str) -> Outcome:
        self._finish(key, State.SKIPPED, 0, reason=reason)
        return Outcome(channel, State.SKIPPED, reason)

    def _finish(self, key: dict[str, str], state: State, tries: int, **fields: Any) -> None:
        self._deliveries.finish(key, state, now=self._clock(), attempts=tries, **fields)
