"""Delivering outbox messages to merchants' endpoints: one delivery per subscribed endpoint,
tried at once, then on the backoff schedule by `retry_due` (a scheduled function, each
minute, taking turns between endpoints within a time budget) until delivered or abandoned; an
endpoint that keeps failing is disabled."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from chalicelib.domain.order import Order
from chalicelib.domain.times import iso_z
from chalicelib.merchant_webhooks.backoff import next_attempt
from chalicelib.merchant_webhooks.deliveries import Delivery, DeliveryState, QueuedEndpoint
from chalicelib.merchant_webhooks.endpoints import Endpoint
from chalicelib.merchant_webhooks.events import EVENT_TYPES, event_body, message_id, signed_headers
from chalicelib.merchant_webhooks.http_sender import Answer, Sender
from chalicelib.merchant_webhooks.turns import Cursor, EndpointTurn, Turns
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
    """The deliveries, each held by the token of its lease (None or False: not ours), queued
    per endpoint."""

    def create(self, delivery: Delivery, due: datetime, now: datetime) -> str | None: ...

    def active(self) -> list[QueuedEndpoint]: ...

    def due(
        self, endpoint_id: str, now: datetime, limit: int, cursor: Cursor = None
    ) -> tuple[list[Delivery], Cursor]: ...

    def settle(self, queued: QueuedEndpoint, now: datetime) -> bool: ...

    def claim(self, delivery: Delivery, until: datetime) -> str | None: ...

    def finish(
        self,
        delivery: Delivery,
        token: str,
        *,
        state: DeliveryState,
        retry_at: datetime | None = None,
        now: datetime | None = None,
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
class Fairness:
    """How a retry run shares its workers. The budget: the schedule runs each minute on a
    function with a 120 s timeout; no attempt starts after 45 s and each ends by its 10 s
    deadline, so a run is over before the next begins and long before the 2 min lease."""

    budget: timedelta = timedelta(seconds=45)
    in_flight_per_endpoint: int = 4  # of the 16 workers; 1 while the endpoint is failing
    pause_after_failures: int = 3  # in a row, in this run: the rest waits for the next run
    page: int = 25


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
        fairness: Fairness | None = None,
        workers: int = 16,
        monotonic: Callable[[], float] = time.monotonic,
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
        self._fair = fairness or Fairness()
        self._workers = workers
        self._monotonic = monotonic

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

    def retry_due(self, now: datetime | None = None) -> list[Outcome]:
        """Try again the pending deliveries due by `now`, endpoint by endpoint in turn (see
        turns.py) until nothing is due or the budget is spent; what is left is taken by the
        next run. Endpoints left with nothing pending drop out of the queue. An attempt that
        raises (a store or Secrets Manager error) stops its endpoint for the run, not the
        others; the first such error is raised at the end, so the run shows as failed."""
        now = now or self._clock()
        stop_at = self._monotonic() + self._fair.budget.total_seconds()
        turns = Turns(self._turn(queued, now) for queued in self._deliveries.active())
        outcomes: list[Outcome] = []
        first_error: Exception | None = None
        with ThreadPoolExecutor(max_workers=self._workers) as pool:
            running: dict[Future[Outcome], EndpointTurn] = {}
            while True:
                while len(running) < self._workers and self._monotonic() < stop_at:
                    picked = turns.next()
                    if picked is None:
                        break
                    turn, delivery = picked
                    token = self._deliveries.claim(delivery, now + self._lease)
                    if token is None:  # another run has it, or it is finished
                        turn.ended(None)
                        turns.back(turn)
                        continue
                    attempt = pool.submit(self._attempt, delivery, token, turn.endpoint, now)
                    running[attempt] = turn
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for attempt in done:
                    turn = running.pop(attempt)
                    try:
                        outcome = attempt.result()
                    except Exception as exc:  # raised below, once the others had their turn
                        logger.exception(
                            "webhooks out: attempt raised", endpoint_id=turn.queued.endpoint_id
                        )
                        first_error = first_error or exc
                        turn.raised()
                        continue
                    outcomes.append(outcome)
                    turn.ended(outcome.state == str(DeliveryState.DELIVERED))
                    turns.back(turn)
        for turn in turns.all:
            if turn.exhausted and not turn.broken:
                self._deliveries.settle(turn.queued, now)
        if first_error is not None:
            raise first_error
        return outcomes

    def _turn(self, queued: QueuedEndpoint, now: datetime) -> EndpointTurn:
        def fetch(endpoint_id: str, cursor: Cursor) -> tuple[list[Delivery], Cursor]:
            return self._deliveries.due(endpoint_id, now, self._fair.page, cursor)

        return EndpointTurn(
            queued,
            partial(self._endpoints.get, queued.merchant_id, queued.endpoint_id),
            fetch,
            in_flight=self._fair.in_flight_per_endpoint,
            pause_after=self._fair.pause_after_failures,
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
            self._record(delivery, token, DeliveryState.DELIVERED, None, recorded, now)
            if not endpoint.healthy:
                self._endpoints.succeeded(endpoint.merchant_id, endpoint.endpoint_id)
            return Outcome(
                endpoint.endpoint_id, str(DeliveryState.DELIVERED), answer.status, attempts
            )
        retry_at = next_attempt(first, attempts, now)
        state = DeliveryState.PENDING if retry_at else DeliveryState.ABANDONED
        if state is DeliveryState.ABANDONED:
            recorded["reason"] = f"no 2xx answer in {attempts} attempts"
        self._record(delivery, token, state, retry_at, recorded, now)
        self._note_failure(endpoint, state, now, answer)
        return Outcome(endpoint.endpoint_id, str(state), answer.status, attempts, answer.detail)

    def _record(
        self,
        delivery: Delivery,
        token: str,
        state: DeliveryState,
        retry_at: datetime | None,
        fields: dict[str, Any],
        now: datetime,
    ) -> None:
        if not self._deliveries.finish(
            delivery, token, state=state, retry_at=retry_at, now=now, **fields
        ):
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
