"""The local runtime's test hooks answer through their reply models (api/local_replies.py):
each body is what the hand-built dict gave, nulls included, and holds to the local stage's
OpenAPI document, where each hook now names its reply."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from chalice import Chalice
from chalice.test import Client
from jsonschema import Draft202012Validator, ValidationError

from chalicelib.api.local import local_blueprint
from chalicelib.api.local_replies import (
    DispatchFaultsOut,
    DispatchTickOut,
    RunStoppedOut,
    ScheduledRunOut,
)
from chalicelib.api.openapi import document
from chalicelib.config import settings
from chalicelib.dispatch.service import DispatchService
from chalicelib.domain.dispatch import Run
from chalicelib.local import capture
from chalicelib.local.outages import Outage, VendorOutages

PROJECT_DIR = Path(__file__).resolve().parents[2]
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def schemas(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The local stage's document (the only one that has the hooks)."""
    monkeypatch.setenv("LASTMILE_STAGE", "local")
    settings.cache_clear()
    document.cache_clear()
    try:
        yield document()["components"]
    finally:
        monkeypatch.undo()
        settings.cache_clear()
        document.cache_clear()


def _valid(components: dict[str, Any], name: str, answer: object) -> None:
    Draft202012Validator(
        {"$ref": f"#/components/schemas/{name}", "components": components}
    ).validate(answer)


class ScriptedVendor:
    def __init__(self) -> None:
        self.scripted: list[int] = []

    def script(self, statuses: Iterable[int]) -> None:
        self.scripted.extend(statuses)


class Throttle:
    def throttle(self, table: str | None, seconds: float, rate: float) -> None:
        self.last = (table, seconds, rate)


class StripeSessions:
    """A Stripe stand-in holding Checkout sessions as local/stripe_fake.py makes them (unit tests
    open no socket, so not that one): expiring one flips an open session to expired."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.sessions: dict[str, dict[str, Any]] = {}

    def create(self) -> dict[str, Any]:
        params = {"mode": "payment", "success_url": "https://shop.example/ok"}
        self.calls.append(
            {
                "method": "POST",
                "path": "/v1/checkout/sessions",
                "params": params,
                "idempotency_key": None,
                "at": "2026-12-01T10:00:00.000Z",
                "status": 200,
            }
        )
        session = {
            "id": "cs_test_1",
            "object": "checkout.session",
            "mode": "payment",
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": 0,
            "currency": "eur",
            "metadata": {},
            "client_reference_id": None,
            "success_url": "https://shop.example/ok",
            "cancel_url": None,
            "url": "http://127.0.0.1:1/c/pay/cs_test_1",
            "created": 1764583200,
            "expires_at": 1764669600,
            "shipping_options": [],
            "livemode": False,
        }
        self.sessions[session["id"]] = session
        return dict(session)

    def requests(self) -> list[dict[str, Any]]:
        return [dict(c) for c in self.calls]

    def complete(self, session_id: str, **_: Any) -> dict[str, Any]:
        raise NotImplementedError

    def expire(self, session_id: str) -> dict[str, Any]:
        from chalicelib.local.stripe_fake import StripeError

        if session_id not in self.sessions:
            raise StripeError(
                404, "invalid_request_error", f"No such checkout.session: {session_id}"
            )
        self.sessions[session_id]["status"] = "expired"
        return self.sessions[session_id]


class Carriers:
    """A carrier stand-in recording what it received and answering a status with our answers."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, list[str], int]] = []

    def received(self) -> list[dict[str, Any]]:
        return [
            {
                "carrier": "uber_direct",
                "method": "POST",
                "path": "/uber/oauth/v2/token",
                "body": {"grant_type": "client_credentials"},
                "at": "2026-12-01T10:00:00.000Z",
                "status": 200,
            }
        ]

    def send_status(
        self,
        endpoint: str,
        carrier: str,
        job_id: str,
        statuses: Sequence[str],
        *,
        courier: dict[str, float] | None = None,
        repeat: int = 1,
    ) -> list[int]:
        self.sent.append((carrier, job_id, list(statuses), repeat))
        return [200] * repeat


def _client(**stand_ins: Any) -> Client:
    probe = Chalice(app_name="probe")
    probe.register_blueprint(local_blueprint(sendgrid=ScriptedVendor(), **stand_ins))
    return Client(probe, stage_name="local", project_dir=str(PROJECT_DIR))


def test_the_outbox_and_the_vendor_switches_answer_as_before(
    schemas: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(capture, "_messages", [])
    message = {
        "channel": "email",
        "to": "grace@example.com",
        "subject": "Your order is on its way",
        "body": "Track it at ...",
        "order_id": "ord_1",
        "at": "2026-12-01T10:00:00Z",
    }
    capture.record(message)
    sendgrid = Outage()
    with _client(outages=VendorOutages({"sendgrid": sendgrid}), throttle=Throttle()) as client:
        outbox = client.http.get("/local/outbox")
        scripted = client.http.post(
            "/local/vendors/sendgrid/script", headers=JSON, body=b'{"statuses": [429, 202]}'
        )
        down = client.http.post(
            "/local/vendors/sendgrid/outage", headers=JSON, body=b'{"status": 503, "seconds": 60}'
        )
        every_table = client.http.post("/local/aws/throttle", headers=JSON, body=b'{"seconds": 5}')
        one_table = client.http.post(
            "/local/aws/throttle", headers=JSON, body=b'{"table": "lastmile-main", "seconds": 2.5}'
        )

    assert outbox.json_body == {"messages": [message]}
    _valid(schemas, "OutboxOut", outbox.json_body)
    assert scripted.json_body == {"scripted": [429, 202]}
    _valid(schemas, "SendGridScriptOut", scripted.json_body)
    assert json.loads(down.body) == {"vendor": "sendgrid", "status": 503, "seconds": 60.0}
    _valid(schemas, "VendorOutageOut", down.json_body)
    # Every table is a null table, sent as null as before.
    assert json.loads(every_table.body) == {"table": None, "seconds": 5.0, "rate": 1.0}
    assert one_table.json_body == {"table": "lastmile-main", "seconds": 2.5, "rate": 1.0}
    for answer in (every_table, one_table):
        _valid(schemas, "ThrottleOut", answer.json_body)
    with pytest.raises(ValidationError):
        _valid(schemas, "ThrottleOut", {"seconds": 5.0, "rate": 1.0})  # table is always sent


def test_stripe_requests_and_an_expired_session_answer_as_the_stand_in_holds_them(
    schemas: dict[str, Any],
) -> None:
    stripe = StripeSessions()
    created = stripe.create()
    with _client(stripe=stripe) as client:
        requests = client.http.get("/local/stripe/requests")
        expired = client.http.post("/local/stripe/checkout/sessions/cs_test_1/expire")
        unknown = client.http.post("/local/stripe/checkout/sessions/cs_test_nope/expire")

    assert json.loads(requests.body) == {"requests": stripe.calls}  # a null idempotency key too
    _valid(schemas, "StripeRequestsOut", requests.json_body)
    session = json.loads(expired.body)
    assert session == created | {"status": "expired"}  # its nulls still sent as null
    assert session["client_reference_id"] is None and "shipping_cost" not in session
    _valid(schemas, "CheckoutSessionOut", session)
    assert unknown.status_code == 404 and unknown.json_body["error"]["code"] == "stripe_refused"
    with pytest.raises(ValidationError):
        _valid(schemas, "CheckoutSessionOut", {k: v for k, v in session.items() if k != "url"})


class CompletingStripe:
    """A stand-in whose completion answers what StripeFake.complete gives (its webhook sent)."""

    def __init__(self, done: dict[str, Any]) -> None:
        self.done = done

    def requests(self) -> list[dict[str, Any]]:
        return []

    def complete(self, session_id: str, **_: Any) -> dict[str, Any]:
        return self.done

    def expire(self, session_id: str) -> dict[str, Any]:
        return self.done["session"]


def test_a_completed_checkout_answers_event_paid_session_and_webhook_answers(
    schemas: dict[str, Any],
) -> None:
    shipping = {
        "name": "Grace Hopper",
        "phone": None,
        "address": {
            "line1": "1 High St",
            "line2": None,
            "city": "London",
            "postal_code": "SE1 9AA",
            "country": "GB",
        },
    }
    done = {
        "event_id": "evt_1",
        "session": {
            "id": "cs_test_1",
            "object": "checkout.session",
            "mode": "payment",
            "status": "complete",
            "payment_status": "paid",
            "amount_total": 1399,
            "currency": "gbp",
            "metadata": {"quote_id": "quo_1"},
            "client_reference_id": "ord_1",
            "success_url": "https://shop.example/ok",
            "cancel_url": None,
            "url": "http://127.0.0.1:1/c/pay/cs_test_1",
            "created": 1764583200,
            "expires_at": 1764669600,
            "shipping_options": [{"shipping_amount": 499, "shipping_rate": "shr_1"}],
            "livemode": False,
            "shipping_cost": {
                "amount_subtotal": 499,
                "amount_tax": 0,
                "amount_total": 499,
                "shipping_rate": "shr_1",
            },
            "collected_information": {"shipping_details": shipping},
            "customer_details": {"name": "Grace Hopper", "email": None},
        },
        "webhook": [
            {"status": 200, "body": {"received": True}},
            {"status": 200, "body": {"received": True, "duplicate": True}},
        ],
    }
    with _client(stripe=CompletingStripe(json.loads(json.dumps(done)))) as client:
        completed = client.http.post(
            "/local/stripe/checkout/sessions/cs_test_1/complete", headers=JSON, body=b"{}"
        )

    assert completed.status_code == 200
    assert json.loads(completed.body) == done
    _valid(schemas, "CheckoutCompletedOut", completed.json_body)


def test_carrier_requests_and_a_status_webhook_answer_as_before(schemas: dict[str, Any]) -> None:
    carriers = Carriers()
    with _client(carriers=carriers) as client:
        requests = client.http.get("/local/carriers/requests")
        sent = client.http.post(
            "/local/carriers/doordash_drive/deliveries/job_1/status",
            headers=JSON,
            body=b'{"status": "pickup", "repeat": 2}',
        )
    with _client() as client:
        none = client.http.get("/local/carriers/requests")

    assert requests.json_body == {"requests": carriers.received()}
    assert none.json_body == {"requests": []}
    for answer in (requests, none):
        _valid(schemas, "CarrierRequestsOut", answer.json_body)
    assert sent.json_body == {"carrier": "doordash_drive", "job_id": "job_1", "answers": [200, 200]}
    _valid(schemas, "CarrierStatusSentOut", sent.json_body)
    assert carriers.sent == [("doordash_drive", "job_1", ["pickup"], 2)]


class Depots:
    def depot(self, depot_id: str) -> Any:
        class Depot:
            dispatch = {"rolling": {"every_minutes": 10, "min_orders": 3}}

        return Depot()


class DepotLock:
    """The depot's dispatch lock and its ready orders (none): a run begins unless one holds it."""

    def __init__(self, holder: str | None = None) -> None:
        self.holder = holder

    def begin(self, run: Run, *, now: int, lease_until: int) -> str | None:
        self.holder = self.holder or run.run_id
        return self.holder

    def ready_orders(self, depot_id: str) -> list[Any]:
        return []


class Executions:
    def start(self, name: str, payload: dict[str, Any]) -> None:
        self.started = name


def _ticks(lock: DepotLock, trigger: str) -> dict[str, Any]:
    service = DispatchService(lock, None, Depots(), Executions(), None)  # type: ignore[arg-type]
    return DispatchTickOut.model_validate(service.tick("dep_1", trigger)).body()


def test_a_dispatch_tick_answers_each_branch_with_its_fields(schemas: dict[str, Any]) -> None:
    started = _ticks(lock := DepotLock(), "wave")
    running = _ticks(DepotLock(holder="run_busy"), "wave")
    short = _ticks(DepotLock(), "rolling")

    assert started == {"depot_id": "dep_1", "run_id": lock.holder, "started": True}
    assert running == {"depot_id": "dep_1", "run_id": "run_busy", "started": False}
    assert short == {"depot_id": "dep_1", "started": False, "waiting": 0}  # no run_id at all
    for answer in (started, running, short):
        _valid(schemas, "DispatchTickOut", answer)
    with pytest.raises(ValidationError):
        _valid(schemas, "DispatchTickOut", {"depot_id": "dep_1", "started": False, "run": "x"})


def test_faults_a_stopped_run_and_a_scheduled_job_answer_as_before(
    schemas: dict[str, Any],
) -> None:
    faults = DispatchFaultsOut(faults=["finish_crash", "stuck_run"]).body()
    cleared = DispatchFaultsOut(faults=[]).body()
    stopped = RunStoppedOut(run_id="run_1", status="ABORTED").body()
    swept = ScheduledRunOut(function="locker_sweep", result={"reminded": 1, "returning": 0}).body()

    assert faults == {"faults": ["finish_crash", "stuck_run"]}
    assert cleared == {"faults": []}
    assert stopped == {"run_id": "run_1", "status": "ABORTED"}
    assert swept == {"function": "locker_sweep", "result": {"reminded": 1, "returning": 0}}
    _valid(schemas, "DispatchFaultsOut", faults)
    _valid(schemas, "DispatchFaultsOut", cleared)
    _valid(schemas, "RunStoppedOut", stopped)
    _valid(schemas, "ScheduledRunOut", swept)


def test_every_local_hook_names_a_generated_reply(schemas: dict[str, Any]) -> None:
    paths = document()["paths"]
    replies = {
        (path, method): response["content"]["application/json"]["schema"]["$ref"]
        for path, item in paths.items()
        if path.startswith("/local/")
        for method, operation in item.items()
        if method != "parameters"
        for code, response in operation["responses"].items()
        if code == "200"
    }
    assert len(replies) == 14
    for ref in replies.values():
        assert "title" in schemas["schemas"][ref.rsplit("/", 1)[1]], ref  # pydantic's, not by hand


def test_outside_the_local_stage_no_hook_reply_is_documented(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LASTMILE_STAGE", "prod")
    settings.cache_clear()
    document.cache_clear()
    try:
        built = document()
    finally:
        monkeypatch.undo()
        settings.cache_clear()
        document.cache_clear()
    assert not [p for p in built["paths"] if p.startswith("/local/")]
    assert "DispatchTickOut" not in built["components"]["schemas"]
