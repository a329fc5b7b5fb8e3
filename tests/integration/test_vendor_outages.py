"""The local stand-ins' timed outages: SNS through its gate and SendGrid answer the outage's
status to every call while it lasts, as the vendors do, and recover on their own after."""

from __future__ import annotations

import time
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config
from sendgrid import SendGridAPIClient

from chalicelib.local.aws import REGION, EmbeddedAws
from chalicelib.local.outages import Outage, UnknownVendor, VendorOutages
from chalicelib.local.sendgrid_fake import SendGridFake
from chalicelib.local.sns_gate import SnsGate
from chalicelib.notify.messages import Email, Sms, VendorUnavailable
from chalicelib.notify.sendgrid_email import SendGridEmail
from chalicelib.notify.sns_sms import SnsSms

SMS = Sms("+447700900123", "Your parcel is on its way", {"order_id": "ord_outage"})


@pytest.fixture
def gate(aws: EmbeddedAws) -> Iterator[SnsGate]:
    started = SnsGate(aws.endpoint).start()
    yield started
    started.stop()


def sms_through(gate: SnsGate) -> SnsSms:
    client = boto3.client(
        "sns",
        endpoint_url=gate.endpoint,
        region_name=REGION,
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
    )
    return SnsSms(client)


def test_sns_through_the_gate_fails_as_sns_does_during_an_outage_then_recovers(
    gate: SnsGate,
) -> None:
    sms = sms_through(gate)
    assert sms.send(SMS)  # passed through to moto: a message id
    gate.outage.begin(503, 3)
    with pytest.raises(VendorUnavailable) as unavailable:
        sms.send(SMS)
    assert unavailable.value.status == "ServiceUnavailable"
    gate.outage.begin(429, 30)  # long enough for a loaded machine; ended below at once
    with pytest.raises(VendorUnavailable) as throttled:
        sms.opted_out(SMS.to)
    assert throttled.value.status == "Throttling"
    gate.outage.begin(429, 0)
    assert sms.send(SMS)


def test_sendgrid_answers_the_outage_status_to_every_send_until_it_ends() -> None:
    fake = SendGridFake().start()
    try:
        email = SendGridEmail(SendGridAPIClient("SG.k", host=fake.host), "n@lastmile.example")
        message = Email("ada@example.com", "Hi", "<p>Hi</p>", "Hi", "Shop", {"order_id": "o1"})
        fake.outage.begin(503, 0.5)
        fake.script([202])  # a script waits for the outage to end
        for _ in range(3):
            with pytest.raises(VendorUnavailable):
                email.send(message)
        assert [r.status for r in fake.requests] == [503, 503, 503]
        assert fake.accepted == []
        time.sleep(0.6)
        assert email.send(message)
        assert [r.status for r in fake.requests][-1] == 202
        assert len(fake.accepted) == 1
    finally:
        fake.stop()


def test_an_outage_of_a_vendor_without_a_stand_in_is_refused_and_zero_seconds_ends_one() -> None:
    now = [100.0]
    outage = Outage(clock=lambda: now[0])
    outages = VendorOutages({"sendgrid": outage})
    with pytest.raises(UnknownVendor):
        outages.begin("stripe", 503, 60)
    outages.begin("sendgrid", 500, 60)
    now[0] += 59.9
    assert outage.status() == 500
    outages.begin("sendgrid", 500, 0)
    assert outage.status() is None
