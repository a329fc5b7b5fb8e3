"""The notification log in the main table, beside its order: each (outbox message, channel)
claimed with a conditional write before anything is sent, so it is sent once per channel."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action

from chalicelib.domain.errors import ConcurrentUpdate
from chalicelib.domain.times import iso_z
from chalicelib.notify.messages import Channel, NotificationRecord, State
from chalicelib.store.models.notify import NotificationLogItem
from chalicelib.store.reads import get_one
from chalicelib.store.transaction import condition_failed, failing_as

KEEP_DAYS = 90  # what the merchant's API shows is kept this long

# What an attempt's outcome may record besides its state.
_OUTCOME_FIELDS = {
    "to": NotificationLogItem.to,
    "message_id": NotificationLogItem.message_id,
    "reason": NotificationLogItem.reason,
    "vendor_status": NotificationLogItem.vendor_status,
    "vendor_answer": NotificationLogItem.vendor_answer,
}


def notification_key(order_id: str, message_sk: str, channel: Channel) -> dict[str, str]:
    return {"pk": f"ORDER#{order_id}", "sk": f"NOTIFY#{message_sk}#{channel}"}


def _record(item: NotificationLogItem) -> NotificationRecord:
    return NotificationRecord(
        message_type=item.message_type,
        channel=item.channel,
        state=State(item.state),
        attempts=int(item.attempts or 0),
        claimed_at=item.claimed_at,
        updated_at=item.updated_at,
        to=item.to,
        message_id=item.message_id,
        reason=item.reason,
        vendor_status=item.vendor_status,
        vendor_answer=item.vendor_answer,
    )


class NotificationLog:
    def claim(
        self,
        key: dict[str, str],
        *,
        order_id: str,
        message_type: str,
        channel: Channel,
        now: datetime,
        lease: timedelta,
    ) -> bool:
        """Take the message for this channel: True when nobody has it, when an earlier attempt
        left it in `retry`, or when an attempt's lease ran out without an outcome (a crash
        between claim and send). False when it is done or another attempt holds it."""
        log = NotificationLogItem
        at = iso_z(now, "milliseconds")
        try:
            # An update, not a put: it creates the record or takes it over, keeping the
            # attempts counted so far and the outcome fields of an earlier `retry`.
            NotificationLogItem(key["pk"], key["sk"]).update(
                [
                    log.state.set(str(State.SENDING)),
                    log.entity.set(NotificationLogItem),
                    log.order_id.set(order_id),
                    log.message_type.set(message_type),
                    log.channel.set(str(channel)),
                    log.claimed_at.set(at),
                    log.lease_until.set(iso_z(now + lease, "milliseconds")),
                    log.expires_at.set(now + timedelta(days=KEEP_DAYS)),
                    log.attempts.add(0),
                ],
                condition=(
                    log.pk.does_not_exist()
                    | (log.state == str(State.RETRY))
                    | ((log.state == str(State.SENDING)) & (log.lease_until < at))
                ),
            )
        except UpdateError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def finish(
        self, key: dict[str, str], state: State, *, now: datetime, attempts: int, **fields: Any
    ) -> None:
        """Record the outcome of the attempt holding the claim (`to`, `message_id`, `reason`,
        `vendor_status`, `vendor_answer` as they apply)."""
        log = NotificationLogItem
        actions: list[Action] = [
            log.state.set(str(state)),
            log.updated_at.set(iso_z(now, "milliseconds")),
        ]
        actions += [_OUTCOME_FIELDS[n].set(v) for n, v in fields.items() if v is not None]
        actions.append(log.attempts.add(attempts))
        with failing_as(ConcurrentUpdate(f"notification {key['sk']} was taken over")):
            NotificationLogItem(key["pk"], key["sk"]).update(
                actions, condition=log.state == str(State.SENDING)
            )

    def state(self, key: dict[str, str]) -> State | None:
        """Where the message stands on this channel (None: never claimed)."""
        item = get_one(NotificationLogItem, key["pk"], key["sk"])
        return State(item.state) if item else None

    def for_order(self, order_id: str) -> list[NotificationRecord]:
        """Every notification record of the order, oldest message first."""
        return [
            _record(item)
            for item in NotificationLogItem.query(
                f"ORDER#{order_id}",
                NotificationLogItem.sk.startswith("NOTIFY#"),
                consistent_read=True,
            )
        ]
