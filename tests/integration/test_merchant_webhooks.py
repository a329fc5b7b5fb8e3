"""Merchant webhooks out against moto: endpoints registered with their secret in Secrets
Manager, outbox messages POSTed (signed, Standard Webhooks) to a local HTTP server that records
them and answers scripted statuses, retried on a simulated clock, abandoned, disabled."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from standardwebhooks.webhooks import Webhook

from chalicelib import bootstrap
from chalicelib.accounts.service import NewDepot, NewMerchant
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.order import Order
from chalicelib.domain.tenancy import Merchant
from chalicelib.intake.canonical import CanonicalOrder
from chalicelib.local.aws import EmbeddedAws
from chalicelib.merchant_webhooks.backoff import schedule
from chalicelib.merchant_webhooks.deliveries import Delivery, DeliveryState
from chalicelib.merchant_webhooks.dispatcher import DisablePolicy, Fairness, WebhookDispatcher
from chalicelib.merchant_webhooks.endpoint_secrets import EndpointSecrets
from chalicelib.merchant_webhooks.endpoints import (
    Endpoint,
    EndpointLimitReached,
    EndpointNotFound,
    EndpointService,
)
from chalicelib.merchant_webhooks.http_sender import PinnedSender
from chalicelib.orders.service import Action, Inbound
from chalicelib.store.merchant_webhooks import EndpointRepository, WebhookDeliveryLog
from chalicelib.store.orders import message_as_dict, outbox_message
from tests.builders import an_order

pytestmark = pytest.mark.usefixtures("aws")


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class Receiver:
    """A merchant's endpoint on 127.0.0.1: records every POST, answers the scripted statuses
    in turn (then `default`)."""

    server: ThreadingHTTPServer
    script: list[int] = field(default_factory=list)
    default: int = 200
    received: list[Received] = field(default_factory=list)
    redirect_to: str = "http://127.0.0.1:9/elsewhere"  # the Location of a scripted 3xx
    at_once: int = 0
    most_at_once: int = 0  # the most POSTs it was answering at the same time

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/hooks"


def start_receiver(delay_s: float = 0.0) -> Receiver:
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            with lock:
                box.at_once += 1
                box.most_at_once = max(box.most_at_once, box.at_once)
            time.sleep(delay_s)
            with lock:
                box.at_once -= 1
                status = box.script.pop(0) if box.script else box.default
                box.received.append(
                    Received(
                        self.path, {k.lower(): v for k, v in self.headers.items()}, body, status
                    )
                )
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("location", box.redirect_to)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box = Receiver(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return box


def stop_receiver(box: Receiver) -> None:
    box.server.shutdown()
    box.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    box = start_receiver()
    yield box
    stop_receiver(box)


_merchants = itertools.count(1)


def a_merchant() -> Merchant:
    accounts = bootstrap.accounts()
    depot = accounts.create_depot(
        NewDepot(name="Hooks depot", lat=51.5, lng=-0.12, timezone="Europe/London")
    )
    merchant, _ = accounts.create_merchant(
        NewMerchant(name=f"Hook Shop {next(_merchants)}", depot_id=depot.depot_id)
    )
    return merchant


@pytest.fixture
def merchant(aws: EmbeddedAws) -> Merchant:
    """A merchant of the test's own, so no other test's endpoints are in the way."""
    return a_merchant()


@pytest.fixture
def other_merchant(aws: EmbeddedAws) -> Merchant:
    return a_merchant()


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Hooks:
    endpoints: EndpointService
    dispatcher: WebhookDispatcher
    deliveries: WebhookDeliveryLog
    repo: EndpointRepository
    clock: Clock


_partitions = itertools.count(1)


def hooks(aws: EmbeddedAws, **dispatcher: Any) -> Hooks:
    settings = bootstrap.settings()
    bootstrap.store()
    secrets = EndpointSecrets(aws.client("secretsmanager"), settings.secrets_prefix)
    repo = EndpointRepository()
    # A due queue of this test's own: retries of other tests' deliveries stay out of it.
    deliveries = WebhookDeliveryLog(f"WEBHOOK#due-test-{time.time_ns()}")
    clock = Clock()
    return Hooks(
        EndpointService(repo, secrets, allow_local_http=True),
        WebhookDispatcher(
            endpoints=repo,
            deliveries=deliveries,
            secrets=secrets,
            orders=bootstrap.order_repository(),
            sender=PinnedSender(allow_local_http=True),
            public_base_url="https://lastmile.example",
            clock=clock,
            **dispatcher,
        ),
        deliveries,
        repo,
        clock,
    )


@pytest.fixture
def h(aws: EmbeddedAws) -> Hooks:
    return hooks(aws)


_external = itertools.count(1)


def place(merchant: Merchant) -> Order:
    body = an_order(external_id=f"hooks-{time.time_ns()}-{next(_external)}")
    draft = CanonicalOrder.model_validate(body).to_draft()
    result = bootstrap.orders().ingest(
        merchant, Inbound("api", Action.UPSERT, draft.external_id, draft)
    )
    assert result.order is not None
    return result.order


def message(order: Order, message_type: str = "order.confirmed", **extra: Any) -> dict[str, Any]:
    at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    status = message_type.removeprefix("order.")
    return message_as_dict(
        outbox_message(order.order_id, order.merchant_id, status, message_type, at, **extra)
    )


def test_a_registered_endpoint_receives_one_signed_post_without_pii(
    h: Hooks, merchant: Merchant, receiver: Receiver
) -> None:
    endpoint, secret = h.endpoints.register(merchant.merchant_id, receiver.url)
    assert secret.startswith("whsec_")
    order = place(merchant)
    sent = message(order, "order.planned", eta="2030-01-01T10:00:00Z")

    [outcome] = h.dispatcher.enqueue(sent)

    assert (outcome.state, outcome.status, outcome.attempts) == ("delivered", 200, 1)
    [post] = receiver.received
    payload = Webhook(secret).verify(post.body, post.headers)  # raises if the signature is wrong
    assert payload == {
        "type": "order.planned",
        "timestamp": sent["at"],
        "data": {
            "order_id": order.order_id,
            "external_id": order.external_id,
            "status": "planned",
            "tracking_code": order.tracking_code,
            "tracking_url": f"https://lastmile.example/track/{order.tracking_code}",
            "eta": "2030-01-01T10:00:00Z",
        },
    }
    text = post.body.decode()
    for pii in ("grace@example.com", "+447700900456", "Baker Street", "Hopper", "NW1 6XE"):
        assert pii not in text
    assert post.path == "/hooks" and post.headers["content-type"] == "application/json"
    [delivery] = h.deliveries.for_endpoint(endpoint.endpoint_id)
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("delivered", 1, 200)
    assert delivery.due is None  # out of the due index


def test_the_secret_is_in_secrets_manager_and_never_listed(
    aws: EmbeddedAws, h: Hooks, merchant: Merchant, receiver: Receiver
) -> None:
    endpoint, secret = h.endpoints.register(
        merchant.merchant_id, receiver.url, ["order.delivered", "order.failed"]
    )
    name = f"lastmile/merchants/{merchant.merchant_id}/endpoints/{endpoint.endpoint_id}"
    stored = aws.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"]
    assert stored == secret
    [listed] = [
        e.view()
        for e in h.endpoints.list(merchant.merchant_id)
        if e.endpoint_id == endpoint.endpoint_id
    ]
    assert listed["types"] == ["order.delivered", "order.failed"] and secret not in str(listed)

    h.endpoints.delete(merchant.merchant_id, endpoint.endpoint_id)

    assert endpoint.endpoint_id not in [
        e.endpoint_id for e in h.endpoints.list(merchant.merchant_id)
    ]
    with pytest.raises(aws.client("secretsmanager").exceptions.ResourceNotFoundException):
        aws.client("secretsmanager").get_secret_value(SecretId=name)
    with pytest.raises(EndpointNotFound):
        h.endpoints.delete(merchant.merchant_id, endpoint.endpoint_id)


def test_urls_must_be_https_unless_loopback_is_allowed(h: Hooks, merchant: Merchant) -> None:
    strict = EndpointService(h.repo, EndpointSecrets(None, "unused"))
    for url in ("http://127.0.0.1:9/hooks", "http://shop.example/hooks", "https://10.0.0.1/x"):
        with pytest.raises(ValidationFailed):
            strict.register(merchant.merchant_id, url)
    with pytest.raises(ValidationFailed):
        h.endpoints.register(merchant.merchant_id, "https://shop.example", ["order.shipped"])


def test_a_merchant_has_at_most_ten_endpoints(h: Hooks, aws: EmbeddedAws) -> None:
    merchant = a_merchant()
    made = [
        h.endpoints.register(merchant.merchant_id, "https://shop.example/hooks")[0]
        for _ in range(10)
    ]
    with pytest.raises(EndpointLimitReached):
        h.endpoints.register(merchant.merchant_id, "https://shop.example/hooks")
    h.endpoints.delete(merchant.merchant_id, made[0].endpoint_id)
    h.endpoints.register(merchant.merchant_id, "https://shop.example/hooks")  # room again
    assert len(h.endpoints.list(merchant.merchant_id)) == 10


def test_the_same_message_enqueued_twice_is_delivered_once(
    h: Hooks, merchant: Merchant, receiver: Receiver
) -> None:
    endpoint, _ = h.endpoints.register(merchant.merchant_id, receiver.url)
    sent = message(place(merchant))

    h.dispatcher.enqueue(sent)
    [again] = h.dispatcher.enqueue(sent)

    assert again.state == "duplicate"
    assert len(receiver.received) == 1
    assert len(h.deliveries.for_endpoint(endpoint.endpoint_id)) == 1


def test_unsubscribed_types_are_not_sent(h: Hooks, merchant: Merchant, receiver: Receiver) -> None:
    h.endpoints.register(merchant.merchant_id, receiver.url, ["order.delivered"])
    order = place(merchant)

    assert h.dispatcher.enqueue(message(order, "order.confirmed")) == []
    [outcome] = h.dispatcher.enqueue(message(order, "order.delivered"))

    assert outcome.state == "delivered"
    assert [json.loads(r.body)["type"] for r in receiver.received] == ["order.delivered"]


def test_a_500_then_a_200_is_delivered_on_the_retry_after_30_seconds(
    h: Hooks, merchant: Merchant, receiver: Receiver
) -> None:
    endpoint, secret = h.endpoints.register(merchant.merchant_id, receiver.url)
    receiver.script = [500]
    start = h.clock.now

    [first] = h.dispatcher.enqueue(message(place(merchant)))
    assert (first.state, first.status) == ("pending", 500)
    assert h.dispatcher.retry_due(start + timedelta(seconds=29)) == []  # not due yet
    [retried] = h.dispatcher.retry_due(start + timedelta(seconds=31))

    assert (retried.state, retried.status, retried.attempts) == ("delivered", 200, 2)
    assert [r.status for r in receiver.received] == [500, 200]
    # The same message id both times, so the receiver can tell a retry; a fresh signature.
    assert receiver.received[0].headers["webhook-id"] == receiver.received[1].headers["webhook-id"]
    Webhook(secret).verify(receiver.received[0].body, receiver.received[0].headers)
    [delivery] = h.deliveries.for_endpoint(endpoint.endpoint_id)
    assert (delivery.state, delivery.attempts, delivery.due) == (DeliveryState.DELIVERED, 2, None)
    assert h.dispatcher.retry_due(start + timedelta(days=2)) == []
    [stored] = [
        e for e in h.endpoints.list(merchant.merchant_id) if e.endpoint_id == endpoint.endpoint_id
    ]
    assert stored.healthy  # the success cleared the failure


def run_retries_until(h: Hooks, until: datetime) -> None:
    """Call retry_due each time something is due, as the minute schedule would."""
    attempts = schedule(h.clock.now)
    for at in (a for a in attempts[1:] if a <= until):
        h.clock.now = at + timedelta(seconds=1)
        h.dispatcher.retry_due()
    h.clock.now = until
    h.dispatcher.retry_due()


def test_an_always_failing_endpoint_is_abandoned_after_24_hours_then_disabled(
    aws: EmbeddedAws, merchant: Merchant, receiver: Receiver
) -> None:
    h = hooks(aws, disable=DisablePolicy(abandoned_in_a_row=20))
    endpoint, _ = h.endpoints.register(merchant.merchant_id, receiver.url)
    receiver.default = 503
    start = h.clock.now
    order = place(merchant)

    h.dispatcher.enqueue(message(order))
    run_retries_until(h, start + timedelta(hours=23, minutes=59))

    expected = len(schedule(start))
    assert expected == 10 and schedule(start)[-1] - start <= timedelta(hours=24)
    assert len(receiver.received) == expected
    [delivery] = h.deliveries.for_endpoint(endpoint.endpoint_id)
    assert (delivery.state, delivery.attempts) == (DeliveryState.ABANDONED, expected)
    assert delivery.reason == "no 2xx answer in 10 attempts"
    stored = h.repo.get(merchant.merchant_id, endpoint.endpoint_id)
    assert stored is not None and stored.enabled  # 23 h 59 min of failing: not yet

    # Past 24 h of nothing but failures: the next failed attempt disables the endpoint.
    h.clock.now = start + timedelta(hours=24, minutes=1)
    [failed] = h.dispatcher.enqueue(message(order, "order.delayed"))
    assert failed.state == "pending"  # an endpoint failing gets new messages from retry_due
    [last] = h.dispatcher.retry_due()
    assert last.status == 503

    stored = h.repo.get(merchant.merchant_id, endpoint.endpoint_id)
    assert stored is not None and stored.disabled_at is not None
    assert stored.disabled_reason == "every attempt failed for 24 h"
    received = len(receiver.received)
    assert h.dispatcher.enqueue(message(order, "order.delivered")) == []  # nothing for it
    h.clock.now += timedelta(minutes=1)
    [dropped] = h.dispatcher.retry_due()  # its pending retry is given up, not sent
    assert (dropped.state, dropped.detail) == ("abandoned", "endpoint disabled")
    assert len(receiver.received) == received

    enabled = h.endpoints.enable(merchant.merchant_id, endpoint.endpoint_id)
    assert enabled.enabled and enabled.healthy
    receiver.default = 200
    [outcome] = h.dispatcher.enqueue(message(order, "order.delivered"))
    assert outcome.state == "delivered"


def test_an_endpoint_is_disabled_after_too_many_abandoned_deliveries_in_a_row(
    aws: EmbeddedAws, merchant: Merchant, receiver: Receiver
) -> None:
    h = hooks(aws, disable=DisablePolicy(abandoned_in_a_row=2, failing_for=timedelta(days=30)))
    endpoint, _ = h.endpoints.register(merchant.merchant_id, receiver.url)
    receiver.default = 500
    order = place(merchant)
    start = h.clock.now

    h.dispatcher.enqueue(message(order, "order.confirmed"))
    h.dispatcher.enqueue(message(order, "order.planned"))
    run_retries_until(h, start + timedelta(hours=24))

    states = sorted(d.state for d in h.deliveries.for_endpoint(endpoint.endpoint_id))
    assert states == [DeliveryState.ABANDONED, DeliveryState.ABANDONED]
    stored = h.repo.get(merchant.merchant_id, endpoint.endpoint_id)
    assert stored is not None and stored.disabled_reason == "2 deliveries abandoned in a row"


def test_another_merchants_message_never_reaches_this_merchants_endpoint(
    h: Hooks, merchant: Merchant, other_merchant: Merchant, receiver: Receiver
) -> None:
    h.endpoints.register(merchant.merchant_id, receiver.url)
    theirs = place(other_merchant)

    assert h.dispatcher.enqueue(message(theirs)) == []
    # Nor does a message naming this merchant about the other's order.
    forged = message(theirs) | {"merchant_id": merchant.merchant_id}
    assert h.dispatcher.enqueue(forged) == []
    assert receiver.received == []


def test_an_unreachable_endpoint_is_a_failed_attempt_not_an_error(
    h: Hooks, merchant: Merchant
) -> None:
    h.endpoints.register(merchant.merchant_id, "http://127.0.0.1:9/closed")

    [outcome] = h.dispatcher.enqueue(message(place(merchant)))

    assert (outcome.state, outcome.status) == ("pending", None)
    assert outcome.detail and "ConnectionRefusedError" in outcome.detail


def test_short_of_time_the_consumer_leaves_the_first_attempt_to_the_schedule(
    h: Hooks, merchant: Merchant, receiver: Receiver
) -> None:
    h.endpoints.register(merchant.merchant_id, receiver.url)

    [queued] = h.dispatcher.enqueue(message(place(merchant)), attempt_now=False)
    assert queued.state == "pending" and receiver.received == []
    [sent] = h.dispatcher.retry_due()

    assert (sent.state, sent.attempts) == ("delivered", 1)
    assert len(receiver.received) == 1


def test_a_redirect_is_a_failed_attempt_and_is_not_followed(
    h: Hooks, merchant: Merchant, receiver: Receiver
) -> None:
    elsewhere = start_receiver()
    try:
        endpoint, _ = h.endpoints.register(merchant.merchant_id, receiver.url)
        receiver.script, receiver.redirect_to = [302], elsewhere.url

        [outcome] = h.dispatcher.enqueue(message(place(merchant)))

        assert (outcome.state, outcome.status) == ("pending", 302)
        assert len(receiver.received) == 1 and elsewhere.received == []
        [delivery] = h.deliveries.for_endpoint(endpoint.endpoint_id)
        assert (delivery.state, delivery.attempts, delivery.last_status) == ("pending", 1, 302)
    finally:
        stop_receiver(elsewhere)


def a_due_delivery(endpoint: Endpoint, n: int) -> Delivery:
    return Delivery(
        endpoint_id=endpoint.endpoint_id,
        merchant_id=endpoint.merchant_id,
        order_id=f"ord_fair_{n}",
        message_sk=f"2030-01-01T00:00:00.000Z#order.confirmed#{n:04d}",
        message_type="order.confirmed",
        msg_id=f"msg_fair_{endpoint.endpoint_id}_{n}",
        body=json.dumps({"type": "order.confirmed", "data": {"n": n}}),
    )


def test_one_retry_run_delivers_a_quiet_endpoints_few_beside_a_failing_endpoints_many(
    h: Hooks, merchant: Merchant, other_merchant: Merchant
) -> None:
    failing, quiet = start_receiver(), start_receiver()
    try:
        failing.default = 500
        busy, _ = h.endpoints.register(merchant.merchant_id, failing.url)
        calm, _ = h.endpoints.register(other_merchant.merchant_id, quiet.url)
        start = h.clock.now
        # The busy endpoint's 500 are all due before the quiet one's 5 (one shared queue,
        # earliest first, would give a run to the busy endpoint alone).
        for n in range(500):
            h.deliveries.create(
                a_due_delivery(busy, n), start - timedelta(minutes=10) + timedelta(seconds=n), start
            )
        for n in range(5):
            h.deliveries.create(a_due_delivery(calm, n), start, start)

        h.dispatcher.retry_due(start + timedelta(seconds=1))

        assert sorted(json.loads(r.body)["data"]["n"] for r in quiet.received) == [0, 1, 2, 3, 4]
        assert {d.state for d in h.deliveries.for_endpoint(calm.endpoint_id)} == {"delivered"}
        # The failing endpoint had its share: at most its in-flight limit, then paused after
        # three failures in a row; the rest stay due for the next run.
        fair = Fairness()
        assert 3 <= len(failing.received) <= fair.in_flight_per_endpoint + fair.pause_after_failures
        assert len(h.deliveries.due(busy.endpoint_id, start + timedelta(seconds=1), 500)[0]) >= 490
    finally:
        stop_receiver(failing)
        stop_receiver(quiet)


def test_an_endpoint_at_its_in_flight_limit_never_has_more_attempts_at_once(
    aws: EmbeddedAws, merchant: Merchant
) -> None:
    h = hooks(aws, fairness=Fairness(in_flight_per_endpoint=2))
    slow = start_receiver(delay_s=0.2)
    try:
        endpoint, _ = h.endpoints.register(merchant.merchant_id, slow.url)
        start = h.clock.now
        for n in range(8):
            h.deliveries.create(a_due_delivery(endpoint, n), start, start)

        h.dispatcher.retry_due(start + timedelta(seconds=1))

        assert len(slow.received) == 8
        assert slow.most_at_once == 2
    finally:
        stop_receiver(slow)


def test_no_attempt_starts_once_the_runs_budget_is_spent(
    aws: EmbeddedAws, merchant: Merchant, receiver: Receiver
) -> None:
    ticks = itertools.count()
    # Each look at the clock is a second later: the budget of 2.5 s lets two attempts start.
    h = hooks(aws, fairness=Fairness(budget=timedelta(seconds=2.5)), monotonic=lambda: next(ticks))
    endpoint, _ = h.endpoints.register(merchant.merchant_id, receiver.url)
    start = h.clock.now
    for n in range(6):
        h.deliveries.create(a_due_delivery(endpoint, n), start, start)

    outcomes = h.dispatcher.retry_due(start + timedelta(seconds=1))

    assert len(outcomes) == len(receiver.received) == 2
    assert len(h.deliveries.due(endpoint.endpoint_id, start + timedelta(seconds=1), 10)[0]) == 4


def test_an_endpoint_with_nothing_pending_leaves_the_queue(
    h: Hooks, merchant: Merchant, receiver: Receiver
) -> None:
    endpoint, _ = h.endpoints.register(merchant.merchant_id, receiver.url)
    receiver.script = [503]
    h.dispatcher.enqueue(message(place(merchant)))
    assert [q.endpoint_id for q in h.deliveries.active()] == [endpoint.endpoint_id]

    [retried] = h.dispatcher.retry_due(h.clock.now + timedelta(seconds=31))
    assert retried.state == "delivered"
    assert [q.endpoint_id for q in h.deliveries.active()] == [endpoint.endpoint_id]  # too soon

    assert h.dispatcher.retry_due(h.clock.now + timedelta(minutes=10)) == []
    assert h.deliveries.active() == []


def test_an_attempt_that_raises_stops_its_endpoint_not_the_run(
    aws: EmbeddedAws, h: Hooks, merchant: Merchant, other_merchant: Merchant
) -> None:
    broken_receiver, fine_receiver = start_receiver(), start_receiver()
    try:
        broken, _ = h.endpoints.register(merchant.merchant_id, broken_receiver.url)
        fine, _ = h.endpoints.register(other_merchant.merchant_id, fine_receiver.url)
        # Half-made: its signing secret is gone, so an attempt cannot be signed and raises.
        aws.client("secretsmanager").delete_secret(
            SecretId=f"lastmile/merchants/{merchant.merchant_id}/endpoints/{broken.endpoint_id}",
            ForceDeleteWithoutRecovery=True,
        )
        start = h.clock.now
        for n in range(3):
            h.deliveries.create(a_due_delivery(broken, n), start, start)
            h.deliveries.create(a_due_delivery(fine, n), start, start)

        with pytest.raises(GetParameterError):
            h.dispatcher.retry_due(start + timedelta(seconds=1))

        assert len(fine_receiver.received) == 3 and broken_receiver.received == []
        assert {d.state for d in h.deliveries.for_endpoint(broken.endpoint_id)} == {"pending"}
    finally:
        stop_receiver(broken_receiver)
        stop_receiver(fine_receiver)
