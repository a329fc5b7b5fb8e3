"""Merchants' webhook endpoints and their deliveries in the main table.

Endpoints sit beside their merchant with a counter that holds the per-merchant limit under
concurrent registrations; deliveries are created once per (message, endpoint) and leased
through the due index."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from pynamodb.attributes import Attribute
from pynamodb.exceptions import PutError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib.domain.times import iso_z
from chalicelib.merchant_webhooks.deliveries import Delivery, DeliveryState
from chalicelib.merchant_webhooks.endpoints import Endpoint, EndpointLimitReached, EndpointNotFound
from chalicelib.store.models.merchant_webhooks import (
    WebhookDeliveryItem,
    WebhookEndpointCountItem,
    WebhookEndpointItem,
)
from chalicelib.store.reads import get_one
from chalicelib.store.transaction import Transaction, condition_failed

DUE_PARTITION = "WEBHOOK#due"
KEEP_DAYS = 30  # a delivery is shown to its merchant this long


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
    redelivered message is delivered once. A pending delivery sits in gsi2 under its due
    partition with its due time as sort key; whoever moves that sort key forward holds it."""

    def __init__(self, due_partition: str = DUE_PARTITION) -> None:
        self._due = due_partition  # tests use their own, to see only their deliveries

    def create(self, delivery: Delivery, due: datetime, now: datetime) -> str | None:
        """Store a new pending delivery due at `due`; returns its token (the caller holds it
        until then), or None when this message was already given to this endpoint."""
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
            gsi2pk=self._due,
            gsi2sk=token,
        )
        try:
            item.save(condition=WebhookDeliveryItem.pk.does_not_exist())
        except PutError as exc:
            if condition_failed(exc):
                return None
            raise
        return token

    def due(self, now: datetime, limit: int) -> list[Delivery]:
        """Pending deliveries due by `now`, earliest first (the index is eventually
        consistent: claim() is what decides)."""
        return [
            _delivery(item)
            for item in WebhookDeliveryItem.by_due.query(
                self._due,
                WebhookDeliveryItem.gsi2sk <= iso_z(now, "milliseconds") + "#~",
                limit=limit,
            )
        ]

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
        **fields: Any,
    ) -> bool:
        """Record an attempt's outcome; pending again (due at `retry_at`) or done. False when
        the token was no longer ours (the lease ran out and another attempt took over)."""
        d = WebhookDeliveryItem
        actions: list[Action] = [d.state.set(str(state))]
        actions += [_OUTCOME_FIELDS[n].set(v) for n, v in fields.items() if v is not None]
        if state is DeliveryState.PENDING:
            assert retry_at is not None
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
