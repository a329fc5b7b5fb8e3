"""Merchants' webhook endpoints and their deliveries in the main table.

Endpoints sit beside their merchant with a counter that holds the per-merchant limit under
concurrent registrations; deliveries are created once per (message, endpoint) and leased
through the due index, one partition per endpoint, with a marker per endpoint that has pending
deliveries so the retry job can take turns between them."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.attributes import Attribute
from pynamodb.exceptions import DeleteError, PutError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib.domain.times import iso_z
from chalicelib.merchant_webhooks.deliveries import Delivery, DeliveryState, QueuedEndpoint
from chalicelib.merchant_webhooks.endpoints import Endpoint, EndpointLimitReached, EndpointNotFound
from chalicelib.store.models.merchant_webhooks import (
    WebhookDeliveryItem,
    WebhookEndpointCountItem,
    WebhookEndpointItem,
    WebhookQueueItem,
)
from chalicelib.store.paging import Key, Page, read_page
from chalicelib.store.reads import get_one
from chalicelib.store.transaction import Transaction, condition_failed

QUEUE = "WEBHOOK#due"
KEEP_DAYS = 30  # a delivery is shown to its merchant this long
# The markers of endpoints with pending deliveries are spread over this many index partitions:
# every failed attempt touches one, and one partition takes about 1,000 writes a second.
QUEUE_SHARDS = 8
# A marker is removed only when its latest touch is older than this: every write that left a
# delivery pending came before its touch, so by then the (eventually consistent) index shows
# it, and "nothing pending" there means nothing is.
SETTLE_AFTER = timedelta(minutes=5)


def _merchant_pk(merchant_id: str) -> str:
    return f"MERCHANT#{merchant_id}"


def endpoint_key(merchant_id: str, endpoint_id: str) -> tuple[str, str]:
    return _merchant_pk(merchant_id), f"ENDPOINT#{endpoint_id}"


def _count_key(merchant_id: str) -> tuple[str, str]:
    return _merchant_pk(merchant_id), "ENDPOINTS"


def _deliveries_pk(endpoint_id: str) -> str:
    return f"WEBHOOKOUT#{endpoint_id}"


def delivery_key(endpoint_id: str, message_sk: str, order_id: str) -> tuple[str, str]:
    return _deliveries_pk(endpoint_id), f"{message_sk}#{order_id}"


def _endpoint(item: WebhookEndpointItem) -> Endpoint:
    return Endpoint(
        endpoint_id=item.endpoint_id,
        merchant_id=item.merchant_id,
        url=item.url,
        types=tuple(item.types or ()),
        created_at=item.created_at,
        disabled_at=item.disabled_at,
        disabled_reason=item.disabled_reason,
        failing_since=item.failing_since,
        abandoned_in_a_row=int(item.abandoned_in_a_row or 0),
    )


def _update_endpoint(
    merchant_id: str,
    endpoint_id: str,
    actions: list[Action],
    condition: Condition | None = None,
) -> WebhookEndpointItem | None:
    """The endpoint as the update left it; None when it does not exist (or `condition`
    failed): an update must not bring a deleted endpoint back as a fragment."""
    item = WebhookEndpointItem(*endpoint_key(merchant_id, endpoint_id))
    exists = WebhookEndpointItem.pk.exists()
    try:
        item.update(actions, condition=exists if condition is None else exists & condition)
    except UpdateError as exc:
        if condition_failed(exc):
            return None
        raise
    return item


class EndpointRepository:
    def add(self, endpoint: Endpoint, limit: int) -> None:
        """Store the endpoint unless the merchant already has `limit` of them."""
        count = WebhookEndpointCountItem
        tx = Transaction()
        tx.update(
            WebhookEndpointCountItem(*_count_key(endpoint.merchant_id)),
            [count.entity.set(WebhookEndpointCountItem), count.endpoints.add(1)],
            condition=count.endpoints.does_not_exist() | (count.endpoints < limit),
            on_fail=EndpointLimitReached(f"a merchant has at most {limit} webhook endpoints"),
        )
        tx.put(
            WebhookEndpointItem(
                *endpoint_key(endpoint.merchant_id, endpoint.endpoint_id),
                endpoint_id=endpoint.endpoint_id,
                merchant_id=endpoint.merchant_id,
                url=endpoint.url,
                types=list(endpoint.types),
                created_at=endpoint.created_at,
                abandoned_in_a_row=0,
            ),
            condition=WebhookEndpointItem.pk.does_not_exist(),
            on_fail=EndpointLimitReached("endpoint id collision, try again"),
        )
        tx.commit()

    def remove(self, merchant_id: str, endpoint_id: str) -> None:
        count = WebhookEndpointCountItem
        tx = Transaction()
        tx.delete(
            WebhookEndpointItem(*endpoint_key(merchant_id, endpoint_id)),
            condition=WebhookEndpointItem.pk.exists(),
            on_fail=EndpointNotFound(f"no webhook endpoint {endpoint_id}"),
        )
        tx.update(
            WebhookEndpointCountItem(*_count_key(merchant_id)),
            [count.endpoints.set(count.endpoints - 1)],
            condition=count.endpoints > 0,
        )
        tx.commit()

    def list(self, merchant_id: str) -> list[Endpoint]:
        return [
            _endpoint(item)
            for item in WebhookEndpointItem.query(
                _merchant_pk(merchant_id),
                WebhookEndpointItem.sk.startswith("ENDPOINT#"),
                consistent_read=True,
            )
        ]

    def page(self, merchant_id: str, *, limit: int, start: Key | None) -> Page[Endpoint]:
        """A page of the merchant's endpoints, by id."""
        page = read_page(
            WebhookEndpointItem,
            lambda **more: WebhookEndpointItem.query(
                _merchant_pk(merchant_id),
                WebhookEndpointItem.sk.startswith("ENDPOINT#"),
                consistent_read=True,
                **more,
            ),
            limit=limit,
            start=start,
        )
        return Page([_endpoint(item) for item in page.items], page.last_key)

    def get(self, merchant_id: str, endpoint_id: str) -> Endpoint | None:
        item = get_one(WebhookEndpointItem, *endpoint_key(merchant_id, endpoint_id))
        return _endpoint(item) if item else None

    def enable(self, merchant_id: str, endpoint_id: str) -> Endpoint:
        ep = WebhookEndpointItem
        updated = _update_endpoint(
            merchant_id,
            endpoint_id,
            [
                ep.disabled_at.remove(),
                ep.disabled_reason.remove(),
                ep.failing_since.remove(),
                ep.abandoned_in_a_row.set(0),
            ],
        )
        if updated is None:
            raise EndpointNotFound(f"no webhook endpoint {endpoint_id}")
        return _endpoint(updated)

    # The failure record. Each returns None when the endpoint was deleted meanwhile.

    def succeeded(self, merchant_id: str, endpoint_id: str) -> None:
        ep = WebhookEndpointItem
        _update_endpoint(
            merchant_id, endpoint_id, [ep.failing_since.remove(), ep.abandoned_in_a_row.set(0)]
        )

    def failed(self, merchant_id: str, endpoint_id: str, at: str) -> str | None:
        """Note a failed attempt; returns since when the endpoint has been failing."""
        ep = WebhookEndpointItem
        updated = _update_endpoint(
            merchant_id, endpoint_id, [ep.failing_since.set(ep.failing_since | at)]
        )
        return None if updated is None else updated.failing_since

    def abandoned(self, merchant_id: str, endpoint_id: str) -> int | None:
        """Note an abandoned delivery; returns how many in a row."""
        ep = WebhookEndpointItem
        updated = _update_endpoint(merchant_id, endpoint_id, [ep.abandoned_in_a_row.add(1)])
        return None if updated is None else int(updated.abandoned_in_a_row or 0)

    def disable(self, merchant_id: str, endpoint_id: str, at: str, reason: str) -> bool:
        """True when this call disabled it (False: deleted, or disabled already)."""
        ep = WebhookEndpointItem
        return (
            _update_endpoint(
                merchant_id,
                endpoint_id,
                [ep.disabled_at.set(at), ep.disabled_reason.set(reason)],
                ep.disabled_at.does_not_exist(),
            )
            is not None
        )


def _token(due: datetime) -> str:
    # Time first, so the index sorts by it; the random tail makes every lease distinct.
    return f"{iso_z(due, 'milliseconds')}#{secrets.token_hex(4)}"


def _delivery(item: WebhookDeliveryItem) -> Delivery:
    return Delivery(
        endpoint_id=item.endpoint_id,
        merchant_id=item.merchant_id,
        order_id=item.order_id,
        message_sk=item.message_sk,
        message_type=item.message_type,
        msg_id=item.msg_id,
        body=item.body,
        state=DeliveryState(item.state),
        attempts=int(item.attempts or 0),
        first_attempt_at=item.first_attempt_at,
        last_attempt_at=item.last_attempt_at,
        last_status=None if item.last_status is None else int(item.last_status),
        last_answer=item.last_answer,
        next_attempt_at=item.next_attempt_at,
        reason=item.reason,
        due=item.gsi2sk,
    )


def _keyed(delivery: Delivery) -> WebhookDeliveryItem:
    return WebhookDeliveryItem(
        *delivery_key(delivery.endpoint_id, delivery.message_sk, delivery.order_id)
    )


# What an attempt's outcome may record besides its state.
_OUTCOME_FIELDS: dict[str, Attribute[Any]] = {
    "attempts": WebhookDeliveryItem.attempts,
    "first_attempt_at": WebhookDeliveryItem.first_attempt_at,
    "last_attempt_at": WebhookDeliveryItem.last_attempt_at,
    "last_status": WebhookDeliveryItem.last_status,
    "last_answer": WebhookDeliveryItem.last_answer,
    "reason": WebhookDeliveryItem.reason,
}


class WebhookDeliveryLog:
    """One item per (outbox message, endpoint), created with a conditional put so a
    redelivered message is delivered once. A pending delivery sits in gsi2 under its
    endpoint's due partition with its due time as sort key; whoever moves that sort key
    forward holds it. An endpoint with pending deliveries has a queue marker, touched before
    each write that leaves one pending, in the index's active partitions."""

    def __init__(self, queue: str = QUEUE) -> None:
        self._queue = queue  # tests use their own, to see only their deliveries

    def _due_pk(self, endpoint_id: str) -> str:
        return f"{self._queue}#{endpoint_id}"

    def _active_pk(self, shard: int) -> str:
        return f"{self._queue}#active#{shard}"

    def _touch(self, merchant_id: str, endpoint_id: str, now: datetime) -> None:
        """Mark the endpoint as having pending work; before the write that makes it pending,
        so a crash between the two leaves a marker too many, never a delivery no one sees."""
        q = WebhookQueueItem
        shard = int(hashlib.sha256(endpoint_id.encode()).hexdigest()[:8], 16) % QUEUE_SHARDS
        WebhookQueueItem(f"WEBHOOKQ#{endpoint_id}", "QUEUE").update(
            [
                q.entity.set(WebhookQueueItem),
                q.endpoint_id.set(endpoint_id),
                q.merchant_id.set(merchant_id),
                q.touched_at.set(iso_z(now, "milliseconds")),
                q.gsi2pk.set(self._active_pk(shard)),
                q.gsi2sk.set(endpoint_id),
            ]
        )

    def create(self, delivery: Delivery, due: datetime, now: datetime) -> str | None:
        """Store a new pending delivery due at `due`; returns its token (the caller holds it
        until then), or None when this message was already given to this endpoint."""
        self._touch(delivery.merchant_id, delivery.endpoint_id, now)
        token = _token(due)
        item = WebhookDeliveryItem(
            *delivery_key(delivery.endpoint_id, delivery.message_sk, delivery.order_id),
            endpoint_id=delivery.endpoint_id,
            merchant_id=delivery.merchant_id,
            order_id=delivery.order_id,
            message_sk=delivery.message_sk,
            message_type=delivery.message_type,
            msg_id=delivery.msg_id,
            body=delivery.body,
            state=str(DeliveryState.PENDING),
            attempts=delivery.attempts,
            first_attempt_at=delivery.first_attempt_at,
            last_attempt_at=delivery.last_attempt_at,
            last_status=delivery.last_status,
            last_answer=delivery.last_answer,
            next_attempt_at=iso_z(due, "milliseconds"),
            reason=delivery.reason,
            created_at=iso_z(now, "milliseconds"),
            expires_at=now + timedelta(days=KEEP_DAYS),
            gsi2pk=self._due_pk(delivery.endpoint_id),
            gsi2sk=token,
        )
        try:
            item.save(condition=WebhookDeliveryItem.pk.does_not_exist())
        except PutError as exc:
            if condition_failed(exc):
                return None
            raise
        return token

    def active(self) -> list[QueuedEndpoint]:
        """Every endpoint with a queue marker (pending deliveries, or lately so)."""
        return [
            QueuedEndpoint(item.merchant_id, item.endpoint_id, item.touched_at)
            for shard in range(QUEUE_SHARDS)
            for item in WebhookQueueItem.by_queue.query(self._active_pk(shard))
        ]

    def due(
        self, endpoint_id: str, now: datetime, limit: int, cursor: dict[str, Any] | None = None
    ) -> tuple[list[Delivery], dict[str, Any] | None]:
        """A page of the endpoint's pending deliveries due by `now`, earliest first, and the
        cursor of the next page (None: no more). The index is eventually consistent: claim()
        is what decides."""
        found = WebhookDeliveryItem.by_due.query(
            self._due_pk(endpoint_id),
            WebhookDeliveryItem.gsi2sk <= iso_z(now, "milliseconds") + "#~",
            limit=limit,
            last_evaluated_key=cursor,
        )
        page = [_delivery(item) for item in found]
        return page, (found.last_evaluated_key if page else None)

    def settle(self, queued: QueuedEndpoint, now: datetime) -> bool:
        """Remove the endpoint's marker when nothing of it is pending and its latest touch is
        old enough for the index to show everything (True when removed). Conditional on that
        touch, so a delivery made pending meanwhile keeps it."""
        if now - datetime.fromisoformat(queued.touched_at) < SETTLE_AFTER:
            return False
        if list(WebhookDeliveryItem.by_due.query(self._due_pk(queued.endpoint_id), limit=1)):
            return False
        try:
            WebhookQueueItem(f"WEBHOOKQ#{queued.endpoint_id}", "QUEUE").delete(
                condition=WebhookQueueItem.touched_at == queued.touched_at
            )
        except DeleteError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def claim(self, delivery: Delivery, until: datetime) -> str | None:
        """Hold a due delivery until `until` (then it is due again, should this attempt die);
        the new token, or None when someone else holds it or it is finished."""
        token = _token(until)
        d = WebhookDeliveryItem
        try:
            _keyed(delivery).update(
                [d.gsi2sk.set(token)],
                condition=(d.state == str(DeliveryState.PENDING)) & (d.gsi2sk == delivery.due),
            )
        except UpdateError as exc:
            if condition_failed(exc):
                return None
            raise
        return token

    def finish(
        self,
        delivery: Delivery,
        token: str,
        *,
        state: DeliveryState,
        retry_at: datetime | None = None,
        now: datetime | None = None,
        **fields: Any,
    ) -> bool:
        """Record an attempt's outcome (made at `now`); pending again (due at `retry_at`) or
        done. False when the token was no longer ours (the lease ran out and another attempt
        took over)."""
        d = WebhookDeliveryItem
        actions: list[Action] = [d.state.set(str(state))]
        actions += [_OUTCOME_FIELDS[n].set(v) for n, v in fields.items() if v is not None]
        if state is DeliveryState.PENDING:
            assert retry_at is not None
            self._touch(delivery.merchant_id, delivery.endpoint_id, now or datetime.now(UTC))
            actions += [
                d.gsi2sk.set(_token(retry_at)),
                d.next_attempt_at.set(iso_z(retry_at, "milliseconds")),
            ]
        else:  # out of the due index
            actions += [d.gsi2pk.remove(), d.gsi2sk.remove(), d.next_attempt_at.remove()]
        try:
            _keyed(delivery).update(actions, condition=d.gsi2sk == token)
        except UpdateError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def for_endpoint(self, endpoint_id: str, limit: int = 100) -> list[Delivery]:
        """The endpoint's latest deliveries, newest first."""
        return [
            _delivery(item)
            for item in WebhookDeliveryItem.query(
                _deliveries_pk(endpoint_id),
                scan_index_forward=False,
                limit=limit,
                consistent_read=True,
            )
        ]
