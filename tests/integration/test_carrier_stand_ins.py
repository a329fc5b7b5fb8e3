"""The carrier adapters against their local stand-ins over HTTP: each speaks the other's
shape (Uber's OAuth, quotes and deliveries; DoorDash's JWT, quote and accept), a retried
create makes no second delivery, an outage is worth retrying, a refusal is not, and the
stand-ins' webhooks are believed by the adapters (and tampered ones are not)."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
import requests

from chalicelib.carriers.doordash_drive import DoorDashDrive
from chalicelib.carriers.ports import (
    CarrierDeclined,
    CarrierUnavailable,
    CourierPosition,
    Handoff,
    Money,
    Place,
)
from chalicelib.carriers.uber_direct import UberDirect
from chalicelib.domain.errors import SignatureInvalid
from chalicelib.local.carriers_fake import CarrierStandIns

UBER = {
    "customer_id": "cus-local",
    "client_id": "uber-client",
    "client_secret": "uber-secret",
    "webhook_signing_key": "uber-webhook-key",
}
DOORDASH = {
    "developer_id": "dev-local",
    "key_id": "key-local",
    "signing_secret": base64.urlsafe_b64encode(b"doordash-signing-secret-32-bytes").decode(),
    "webhook_authorization": "Bearer dd-webhook-secret",
}
HANDOFF = Handoff(
    order_id="ord_0123456789abcdef0123",
    pickup=Place("1 Depot Way, London E1 1AA", 51.515, -0.072, "Depot East", "+442071234567"),
    dropoff=Place("2 High St, London E2 2BB", 51.53, -0.06, "Ada", "+447700900123"),
    ready_at="2026-12-01T15:00:00Z",
    deliver_by="2026-12-01T18:00:00Z",
    items=2,
)


@pytest.fixture
def stand_ins() -> Iterator[CarrierStandIns]:
    fake = CarrierStandIns({"uber_direct": UBER, "doordash_drive": DOORDASH}).start()
    yield fake
    fake.stop()


def uber(fake: CarrierStandIns, creds: dict[str, str] = UBER) -> UberDirect:
    return UberDirect(
        requests.Session(), creds, api_url=fake.uber_api_url, auth_url=fake.uber_auth_url
    )


def test_an_uber_quote_becomes_one_delivery_however_often_it_is_created(
    stand_ins: CarrierStandIns,
) -> None:
    adapter = uber(stand_ins)
    quote = adapter.quote(HANDOFF)
    assert quote.quote_id.startswith("dqt_")
    assert quote.fee == Money(850, "GBP")
    job = adapter.create(HANDOFF, quote)
    again = adapter.create(HANDOFF, quote)  # a retried handoff
    assert job == again and job.job_id.startswith("del_") and job.status == "pending"
    calls = stand_ins.received()
    creates = [c for c in calls if c["path"].endswith("/deliveries")]
    assert [c["body"]["external_id"] for c in creates] == [HANDOFF.order_id] * 2
    assert sum(1 for c in calls if c["path"].endswith("/oauth/v2/token")) == 1  # token kept
    assert all("uber-secret" not in str(c["body"]) for c in calls)  # the secret is not kept
    adapter.cancel(job.job_id)
    assert stand_ins.delivery("uber_direct", job.job_id)["status"] == "canceled"


def test_uber_refuses_a_wrong_client_secret(stand_ins: CarrierStandIns) -> None:
    with pytest.raises(CarrierDeclined, match="401"):
        uber(stand_ins, {**UBER, "client_secret": "guess"}).quote(HANDOFF)


def test_an_outage_is_worth_retrying_and_passes(stand_ins: CarrierStandIns) -> None:
    adapter = uber(stand_ins)
    stand_ins.outage.begin(503, 60)
    with pytest.raises(CarrierUnavailable, match="503"):
        adapter.quote(HANDOFF)
    stand_ins.outage.begin(503, 0)
    assert adapter.quote(HANDOFF).fee.amount == 850


def test_the_uber_stand_in_signs_its_webhooks_as_uber_does(stand_ins: CarrierStandIns) -> None:
    adapter = uber(stand_ins)
    job = adapter.create(HANDOFF, adapter.quote(HANDOFF))
    [(raw, headers)] = stand_ins.webhooks(
        "uber_direct", job.job_id, "pickup_complete", {"lat": 51.52, "lng": -0.07}
    )
    update = adapter.update(raw, headers)
    assert (update.job_id, update.status, update.external_id) == (
        job.job_id,
        "pickup_complete",
        HANDOFF.order_id,
    )
    assert update.courier == CourierPosition(51.52, -0.07)
    with pytest.raises(SignatureInvalid):
        adapter.update(raw.replace(b"pickup_complete", b"delivered"), headers)


def test_doordash_quotes_and_accepts_with_a_jwt_and_once(stand_ins: CarrierStandIns) -> None:
    adapter = DoorDashDrive(requests.Session(), DOORDASH, api_url=stand_ins.doordash_api_url)
    quote = adapter.quote(HANDOFF)
    assert (quote.quote_id, quote.fee) == (HANDOFF.order_id, Money(975, "GBP"))
    job = adapter.create(HANDOFF, quote)
    assert adapter.create(HANDOFF, quote) == job  # accepted already: the same delivery
    assert (job.job_id, job.status) == (HANDOFF.order_id, "created")
    [(raw, headers)] = stand_ins.webhooks("doordash_drive", job.job_id, "delivered")
    assert adapter.update(raw, headers).status == "delivered"
    with pytest.raises(SignatureInvalid):
        adapter.update(raw, {"authorization": "Bearer guess"})


def test_doordash_refuses_a_token_signed_with_another_secret(stand_ins: CarrierStandIns) -> None:
    forged = {**DOORDASH, "signing_secret": base64.urlsafe_b64encode(b"x" * 32).decode()}
    adapter = DoorDashDrive(requests.Session(), forged, api_url=stand_ins.doordash_api_url)
    with pytest.raises(CarrierDeclined, match="401"):
        adapter.quote(HANDOFF)
