"""Delivering outbox messages to merchants' endpoints: one delivery per subscribed endpoint,
tried at once, then on the backoff schedule by `retry_due` (a scheduled function, each
minute) until delivered or abandoned; an endpoint that keeps failing is disabled."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from chalicelib.domain.order import Order
from chalicelib.domain.times import iso_z
from chalicelib.merchant_webhooks.backoff import next_attempt
from chalicelib.merchant_webhooks.deliveries import Delivery, DeliveryState
from chalicelib.merchant_webhooks.endpoints import Endpoint
from chalicelib.merchant_webhooks.events import EVENT_TYPES, event_body, message_id, signed_headers
from chalicelib.merchant_webhooks.http_sender import Answer, Sender
from chalicelib.orders.views import tracking_url

logger = Logger(child=True)


class OrderSource(Protocol):
    def get(self, order_id: str) -> Order | None: ...


class SecretSource(Protocol):
    def get(self, merchant_id: str, endpoint_id: str) -> str: ...


class Endpoints(Protocol):
    """Merchants' endpoints with their failure record (each None: the endpoint is gone)."""

    def list(self, merchant_id: str) -> list[Endpoint]: ...

    def get(self, merchant_id: str, endpoint_id: str) -> Endpoint | None: ...

    def succeeded(self, merchant_id: str, endpoint_id: str) -> None: ...

    def failed(self, merchant_id: str, endpoint_id: str, at: str) -> str | None: ...

    def abandoned(self, merchant_id: str, endpoint_id: str) -> int | None: ...

    def disable(self, merchant_id: str, endpoint_id: str, at: str, reason: str) -> bool: ...


class Deliveries(Protocol):
    """The deliveries, each held by the token of its lease (None or False: not ours)."""

    def create(self, delivery: Delivery, due: datetime, now: datetime) -> str | None: ...

    def due(self, now: datetime, limit: int) -> list[Delivery]: ...

    def claim(self, delivery: Delivery, until: datetime) -> str | None: ...

    def finish(
        self,
        delivery: Delivery,
        token: str,
        *,
        state: DeliveryState,
        retry_at: datetime | None = None,
        **fields: Any,
    ) -> bool: ...


@dataclass(frozen=True)
class Outcome:
    endpoint_id: str
    state: str  # delivered, pending, abandoned; "duplicate": the message was given before
    status: int | None = None
    attempts: int = 0
    detail: str | None = None


@dataclass(frozen=True)
class DisablePolicy:
    abandoned_in_a_row: int = 20
    failing_for: timedelta = timedelta(hours=24)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class WebhookDispatcher:
    def __init__(
        self,
        *,
        endpoints: Endpoints,
        deliveries: Deliveries,
        secrets: SecretSource,
        orders: OrderSource,
        sender: Sender,
        public_base_url: str,
        clock: Callable[[], datetime] = _utc_now,
        lease: timedelta = timedelta(minutes=2),  # longer than a notify invocation can run
        disable: DisablePolicy | None = None,
        workers: int = 16,
    ) -> None:
        self._endpoints = endpoints
        self._deliveries = deliveries
        self._secrets = secrets
        self._orders = orders
        self._sender = sender
        self._base_url = public_base_url.rstrip("/")
        self._clock = clock
        self._lease = lease
        self._disable = disable or DisablePolicy()
        self._workers = workers

    def enqueue(
        self, message: Mapping[str, Any], now: datetime | None = None, *, attempt_now: bool = True
    ) -> list[Outcome]:
        """Give one outbox message to each of its merchant's endpoints subscribed to its type,
        once (a redelivered message finds its deliveries made), and try each healthy endpoint
        at once; an endpoint already failing gets it from `retry_due` instead, so a dead
        endpoint costs the stream consumer no timeouts. HTTP failures never raise. With
        `attempt_now` False (the consumer is short of time), every delivery is left to
        `retry_due`, due at once."""
        now = now or self._clock()
        event_type = str(message.get("type", ""))
        merchant_id, order_id = message.get("merchant_id"), message.get("order_id")
        if event_type not in EVENT_TYPES or not merchant_id or not order_id:
            return []
        endpoints = [e for e in self._endpoints.list(str(merchant_id)) if e.wants(event_type)]
        if not endpoints:
            return []
        order = self._orders.get(str(order_id))
        if order is None or order.merchant_id != merchant_id:
            logger.warning("webhooks out: order not found for its merchant", order_id=order_id)
            return []
        body = event_body(message, order, tracking_url(self._base_url, order))
        outcomes: list[Outcome] = []
        now_attempts: list[tuple[Delivery, str, Endpoint]] = []
        for endpoint in endpoints:
            delivery = Delivery(
                endpoint_id=endpoint.endpoint_id,
                merchant_id=endpoint.merchant_id,
                order_id=order.order_id,
                message_sk=str(message["sk"]),
                message_type=event_type,
                msg_id=message_id(order.order_id, str(message["sk"])),
                body=body,
            )
            try_now = attempt_now and endpoint.healthy
            token = self._deliveries.create(delivery, now + self._lease if try_now else now, now)
            if token is None:
                outcomes.append(Outcome(endpoint.endpoint_id, "duplicate"))
            elif try_now:
                now_attempts.append((delivery, token, endpoint))
            else:
                outcomes.append(Outcome(endpoint.endpoint_id, str(DeliveryState.PENDING)))
        return outcomes + self._run(
            partial(self._attempt, d, t, e, now) for d, t, e in now_attempts
        )

    def retry_due(self, now: datetime | None = None, limit: int = 100) -> list[Outcome]:
        """Try again every pending delivery due by `now` (at most `limit`). With 16 workers and
        5 s timeouts (connect, then read) a run ends within about 70 s, well inside the 2 min
        lease, so no claimed delivery is taken over while it waits for a worker."""
        now = now or self._clock()
        claimed = [
            (delivery, token)
            for delivery in self._deliveries.due(now, limit)
            if (token := self._deliveries.claim(delivery, now + self._lease)) is not None
        ]
        endpoints: dict[tuple[str, str], Endpoint | None] = {}
        for delivery, _ in claimed:
            ref = (delivery.merchant_id, delivery.endpoint_id)
            if ref not in endpoints:
                endpoints[ref] = self._endpoints.get(*ref)
        return self._run(
            partial(self._attempt, d, t, endpoints[(d.merchant_id, d.endpoint_id)], now)
            for d, t in claimed
        )

    def _run(self, calls: Iterable[Callable[[], Outcome]]) -> list[Outcome]:
        work = list(calls)
        if len(work) <= 1:
            return [call() for call in work]
        with ThreadPoolExecutor(max_workers=min(self._workers, len(work))) as pool:
            return list(pool.map(lambda call: call(), work))

    def _attempt(
        self, delivery: Delivery, token: str, endpoint: Endpoint | None, now: datetime
    ) -> Outcome:
        if endpoint is None or not endpoint.enabled:
            reason = "endpoint deleted" if endpoint is None else "endpoint disabled"
            self._deliveries.finish(delivery, token, state=DeliveryState.ABANDONED, reason=reason)
            return Outcome(delivery.endpoint_id, str(DeliveryState.ABANDONED), detail=reason)
        secret = self._secrets.get(endpoint.merchant_id, endpoint.endpoint_id)
        headers = signed_headers(secret, delivery.msg_id, now, delivery.body)
        answer = self._sender.post(endpoint.url, delivery.body, headers)
        attempts = delivery.attempts + 1
        first = (
            datetime.fromisoformat(delivery.first_attempt_at) if delivery.first_attempt_at else now
        )
        recorded = {
            "attempts": attempts,
            "first_attempt_at": iso_z(first, "milliseconds"),
            "last_attempt_at": iso_z(now, "milliseconds"),
            "last_status": answer.status,
            "last_answer": answer.detail or None,
        }
        if answer.ok:
            self._record(delivery, token, DeliveryState.DELIVERED, None, recorded)
            if not endpoint.healthy:
                self._endpoints.succeeded(endpoint.merchant_id, endpoint.endpoint_id)
            return Outcome(
                endpoint.endpoint_id, str(DeliveryState.DELIVERED), answer.status, attempts
            )
        retry_at = next_attempt(first, attempts, now)
        state = DeliveryState.PENDING if retry_at else DeliveryState.ABANDONED
        if state is DeliveryState.ABANDONED:
            recorded["reason"] = f"no 2xx answer in {attempts} attempts"
        self._record(delivery, token, state, retry_at, recorded)
        self._note_failure(endpoint, state, now, answer)
        return Outcome(endpoint.endpoint_id, str(state), answer.status, attempts, answer.detail)

    def _record(
        self,
        delivery: Delivery,
        token: str,
        state: DeliveryState,
        retry_at: datetime | None,
        fields: dict[str, Any],
    ) -> None:
        if not self._deliveries.finish(delivery, token, state=state, retry_at=retry_at, **fields):
            # Our lease ran out mid-attempt and another attempt took the delivery over.
            logger.warning("webhooks out: delivery taken over", msg_id=delivery.msg_id)

    def _note_failure(
        self, endpoint: Endpoint, state: DeliveryState, now: datetime, answer: Answer
    ) -> None:
        ids = (endpoint.merchant_id, endpoint.endpoint_id)
        logger.info(
            "webhooks out: attempt failed",
            endpoint_id=endpoint.endpoint_id,
            status=answer.status,
            state=str(state),
        )
        reason = None
        failing_since = self._endpoints.failed(*ids, iso_z(now, "milliseconds"))
        if (
            failing_since
            and now - datetime.fromisoformat(failing_since) >= self._disable.failing_for
        ):
            hours = self._disable.failing_for / timedelta(hours=1)
            reason = f"every attempt failed for {hours:g} h"
        if state is DeliveryState.ABANDONED:
            in_a_row = self._endpoints.abandoned(*ids)
            if in_a_row is not None and in_a_row >= self._disable.abandoned_in_a_row:
                reason = f"{in_a_row} deliveries abandoned in a row"
        if reason and self._endpoints.disable(*ids, iso_z(now, "milliseconds"), reason):
            logger.warning(
                "webhooks out: endpoint disabled", endpoint_id=endpoint.endpoint_id, reason=reason
            )
