"""Notifications end to end against moto: an order's outbox message travels the outbox table's
stream (read by the local poller) to the consumer, which sends one email to the SendGrid fake
and one SMS through moto's SNS, once each, whatever is redelivered, throttled or refused."""

from __future__ import annotations

import base64
import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends
from python_http_client.exceptions import BadRequestsError
from sendgrid import SendGridAPIClient

from chalicelib import bootstrap
from chalicelib.accounts.service import NewDepot, NewMerchant
from chalicelib.domain.order import Order
from chalicelib.domain.tenancy import Merchant
from chalicelib.intake.canonical import CanonicalOrder
from chalicelib.local import capture
from chalicelib.local.aws import REGION, EmbeddedAws, create_queues
from chalicelib.local.queue_poller import QueuePoller
from chalicelib.local.sendgrid_fake import SendGridFake
from chalicelib.local.stream_poller import StreamPoller, stream_arn
from chalicelib.lockers.codes import PickupCodeKeys
from chalicelib.notify.consumer import consume
from chalicelib.notify.messages import Sms
from chalicelib.notify.parked_consumer import retry_parked
from chalicelib.notify.parking import RetrySchedule
from chalicelib.notify.sendgrid_email import SendGridEmail
from chalicelib.notify.service import NotificationService, RetryPolicy
from chalicelib.notify.sns_sms import SnsSms
from chalicelib.notify.sqs_parking import SqsParking
from chalicelib.orders.service import Action, Inbound
from chalicelib.store.notification_log import NotificationLog
from tests.builders import an_order

pytestmark = pytest.mark.usefixtures("aws")

PICKUP_CODES = PickupCodeKeys(lambda: "integration-pickup-key")

_numbers = itertools.count(100)


def a_phone() -> str:
    """A valid UK mobile number of this test's own (moto keeps every SMS of the session)."""
    return f"+4479111234{next(_numbers) % 100:02d}"


@pytest.fixture(scope="module")
def sendgrid() -> Iterator[SendGridFake]:
    fake = SendGridFake().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def merchant(aws: EmbeddedAws) -> Merchant:
    accounts = bootstrap.accounts()
    depot = accounts.create_depot(
        NewDepot(name="Notify depot", lat=51.5, lng=-0.12, timezone="Europe/London")
    )
    created, _ = accounts.create_merchant(
        NewMerchant(name="Harbour Books", depot_id=depot.depot_id)
    )
    return created


class ThrottledSns:
    """The SNS client, except that its next `failures` publishes are throttled as AWS does."""

    def __init__(self, client: Any, failures: int) -> None:
        self._client = client
        self.failures = failures
        self.publishes = 0

    def publish(self, **kwargs: Any) -> Any:
        self.publishes += 1
        if self.failures > 0:
            self.failures -= 1
            raise ClientError(
                {
                    "Error": {"Code": "Throttling", "Message": "Rate exceeded"},
                    "ResponseMetadata": {"HTTPStatusCode": 400},
                },
                "Publish",
            )
        return self._client.publish(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


@dataclass
class Notify:
    service: NotificationService
    poller: StreamPoller
    waits: list[float]
    sns: ThrottledSns
    retries: QueuePoller  # parked work, from the retry queue


@pytest.fixture
def notify(aws: EmbeddedAws, sendgrid: SendGridFake) -> Iterator[Notify]:
    sendgrid.reset()
    settings = bootstrap.settings()
    waits: list[float] = []
    sns = ThrottledSns(aws.client("sns"), failures=0)
    captured: Callable[[Sms, str], None] = lambda sms, message_id: capture.record(  # noqa: E731
        {"channel": "sms", "to": sms.to, "body": sms.body, "order_id": sms.tags["order_id"]}
    )
    service = NotificationService(
        orders=bootstrap.order_repository(),
        accounts=bootstrap.accounts(),
        deliveries=NotificationLog(),
        email=SendGridEmail(
            SendGridAPIClient("SG.test-key", host=sendgrid.host), "notify@lastmile.example"
        ),
        sms=SnsSms(sns, on_published=captured),
        public_base_url="https://lastmile.example",
        retry=RetryPolicy(attempts=3, first_wait_s=0.2),
        sleep=waits.append,
        pickup_codes=PICKUP_CODES,
    )
    sqs = aws.client("sqs")
    queues = create_queues(sqs, suffix=f"-{time.time_ns()}")  # this test's own
    parking = SqsParking(
        sqs, queues["LASTMILE_NOTIFY_RETRY_QUEUE_URL"], queues["LASTMILE_NOTIFY_DLQ_URL"]
    )
    handlers = {"notifications": service.handle}
    schedule = RetrySchedule((0, 0))  # due again at once: the test gives it back by hand
    retries = QueuePoller(
        sqs,
        queues["LASTMILE_NOTIFY_RETRY_QUEUE_URL"],
        lambda event: retry_parked(event, handlers, parking, schedule),
        wait_s=0,
    )
    poller = StreamPoller(
        aws.client("dynamodbstreams"),
        stream_arn(aws.client("dynamodb"), settings.outbox_table),
        lambda event: consume(event, handlers, parking, schedule),
        interval_s=0.05,
        retry_pause_s=0,
        start_at="LATEST",  # this test's messages only: the stream holds the whole session's
        region=REGION,
    ).open()
    yield Notify(service, poller, waits, sns, retries)
    poller.stop()


_external = itertools.count(1)


class NoParking:
    def park(self, work: Any, delay_s: int) -> None:
        raise AssertionError(f"nothing should fail here: {work}")

    def dead_letter(self, work: Any) -> None:
        raise AssertionError(f"nothing should fail here: {work}")


def place(merchant: Merchant, **customer: Any) -> Order:
    body = an_order(external_id=f"notify-{time.time_ns()}-{next(_external)}")
    body["customer"] = body["customer"] | customer
    draft = CanonicalOrder.model_validate(body).to_draft()
    result = bootstrap.orders().ingest(
        merchant, Inbound("api", Action.UPSERT, draft.external_id, draft)
    )
    assert result.order is not None
    return result.order


def emails_for(sendgrid: SendGridFake, order_id: str) -> list[dict[str, Any]]:
    return [m for m in sendgrid.accepted if m["order_id"] == order_id]


def requests_for(sendgrid: SendGridFake, order_id: str) -> list[int]:
    return [
        r.status
        for r in sendgrid.requests
        if r.body.get("custom_args", {}).get("order_id") == order_id
    ]


def sms_to(number: str) -> list[str]:
    """What moto's SNS accepted for the number."""
    backend = sns_backends[DEFAULT_ACCOUNT_ID][REGION]
    return [body for phone, body in backend.sms_messages.values() if phone == number]


def record(service: NotificationService, order_id: str, channel: str) -> dict[str, Any]:
    [entry] = service.list_for_order(order_id)[channel]
    return entry


def test_an_order_gets_one_email_and_one_sms_through_the_stream(
    notify: Notify, sendgrid: SendGridFake, merchant: Merchant
) -> None:
    phone = a_phone()
    notify.poller.start()
    order = place(merchant, phone=phone)

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        listed = notify.service.list_for_order(order.order_id)
        if [e["state"] for e in listed["email"] + listed["sms"]] == ["sent", "sent"]:
            break
        time.sleep(0.05)
    notify.poller.stop()
    notify.poller.poll_once()  # nothing is left to send twice

    [email] = emails_for(sendgrid, order.order_id)
    assert email["to"] == "grace@example.com"
    assert email["subject"] == "Harbour Books: we have your order"
    assert f"https://lastmile.example/track/{order.tracking_code}" in email["body"]
    [sms] = sms_to(phone)
    assert sms.startswith("Harbour Books: Hi Grace,") and order.tracking_code in sms
    assert record(notify.service, order.order_id, "sms")["message_id"] in (
        sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages
    )
    outbox = [m for m in capture.captured_messages() if m["order_id"] == order.order_id]
    assert sorted(m["channel"] for m in outbox) == ["email", "sms"]


def test_the_same_stream_record_delivered_twice_sends_once(
    notify: Notify, sendgrid: SendGridFake, merchant: Merchant
) -> None:
    service = notify.service
    handlers = {"notifications": service.handle}
    schedule = RetrySchedule((0,))

    def consume_twice(event: dict[str, Any]) -> dict[str, Any]:
        consume(event, handlers, NoParking(), schedule)
        return consume(event, handlers, NoParking(), schedule)

    twice = StreamPoller(
        notify.poller._streams,
        notify.poller._arn,
        consume_twice,
        start_at="LATEST",
    ).open()
    phone = a_phone()
    order = place(merchant, phone=phone)

    assert twice.poll_once() == 1

    assert len(emails_for(sendgrid, order.order_id)) == 1
    assert len(sms_to(phone)) == 1


def test_sendgrid_answering_429_then_202_sends_one_email(
    notify: Notify, sendgrid: SendGridFake, merchant: Merchant
) -> None:
    sendgrid.script([429])
    order = place(merchant, phone=a_phone())

    notify.poller.poll_once()

    assert requests_for(sendgrid, order.order_id) == [429, 202]
    assert len(emails_for(sendgrid, order.order_id)) == 1
    email = record(notify.service, order.order_id, "email")
    assert (email["state"], email["attempts"]) == ("sent", 2)
    assert notify.waits == [0.2]


def test_sns_throttled_once_is_retried_and_recorded(notify: Notify, merchant: Merchant) -> None:
    notify.sns.failures = 1
    phone = a_phone()
    order = place(merchant, phone=phone)

    notify.poller.poll_once()

    assert notify.sns.publishes == 2 and len(sms_to(phone)) == 1
    sms = record(notify.service, order.order_id, "sms")
    assert (sms["state"], sms["attempts"], sms["to"]) == ("sent", 2, phone)


def test_sns_down_for_a_whole_call_is_sent_when_its_parked_work_comes_back(
    notify: Notify, sendgrid: SendGridFake, merchant: Merchant
) -> None:
    notify.sns.failures = 3  # every try of the first delivery
    phone = a_phone()
    order = place(merchant, phone=phone)

    notify.poller.poll_once()
    sms = record(notify.service, order.order_id, "sms")
    assert (sms["state"], sms["vendor_status"]) == ("retry", "Throttling")
    assert sms_to(phone) == [] and notify.poller.failures == 0  # parked: the stream moved on

    assert notify.retries.poll_once() == 1  # the parked work, from SQS

    assert len(sms_to(phone)) == 1
    assert record(notify.service, order.order_id, "sms")["state"] == "sent"
    assert len(emails_for(sendgrid, order.order_id)) == 1  # the email was not sent again


def test_an_invalid_phone_number_skips_sms_with_a_reason_and_still_emails(
    notify: Notify, sendgrid: SendGridFake, merchant: Merchant
) -> None:
    order = place(merchant, phone="+447700900456")  # Ofcom's drama range: never assigned

    notify.poller.poll_once()

    sms = record(notify.service, order.order_id, "sms")
    assert sms["state"] == "skipped" and sms["reason"].startswith("invalid phone number")
    assert notify.sns.publishes == 0
    assert len(emails_for(sendgrid, order.order_id)) == 1


def test_a_400_from_sendgrid_is_recorded_failed_and_not_retried(
    notify: Notify, sendgrid: SendGridFake, merchant: Merchant
) -> None:
    sendgrid.script([400])
    order = place(merchant, phone=a_phone())

    notify.poller.poll_once()
    notify.poller.poll_once()

    email = record(notify.service, order.order_id, "email")
    assert (email["state"], email["vendor_status"]) == ("failed", "400")
    assert "The request body is invalid" in email["vendor_answer"]
    assert requests_for(sendgrid, order.order_id) == [400]
    assert notify.poller.failures == 0  # a refusal is final: the batch is not retried
    assert record(notify.service, order.order_id, "sms")["state"] == "sent"


def test_a_pickup_code_reaches_sendgrid_with_its_qr_code_inline_and_sns_as_digits(
    notify: Notify, sendgrid: SendGridFake, merchant: Merchant
) -> None:
    phone = a_phone()
    order = place(merchant, phone=phone)
    notify.poller.poll_once()  # the order's confirmation
    bootstrap.order_repository().announce(
        order,
        "order.in_locker",
        "2025-05-14T09:00:00.000Z",
        locker={
            "locker_id": "lkr_1",
            "name": "Tooley Street",
            "lat": 51.5055,
            "lng": -0.086,
            "opening_hours": "daily 24 hours",
            "address": "1 Tooley St, London SE1 2QN",
        },
        pickup_by="2025-05-14T17:30:00Z",
        pickup_code_sealed=PICKUP_CODES.seal("40719263", order.order_id),
    )

    notify.poller.poll_once()

    [request] = [
        r
        for r in sendgrid.requests
        if r.body.get("custom_args", {}).get("message_type") == "order.in_locker"
        and r.body["custom_args"]["order_id"] == order.order_id
    ]
    assert request.status == 202
    [attachment] = request.body["attachments"]
    assert (attachment["disposition"], attachment["type"]) == ("inline", "image/png")
    html = next(c["value"] for c in request.body["content"] if c["type"] == "text/html")
    assert f'src="cid:{attachment["content_id"]}"' in html
    assert base64.b64decode(attachment["content"]).startswith(b"\x89PNG\r\n\x1a\n")
    [email] = [m for m in emails_for(sendgrid, order.order_id) if "attachments" in m]
    assert "40719263" in email["body"] and "Wed 14 May 18:30 BST" in email["body"]
    assert email["attachments"] == [
        {
            "filename": "pickup-code.png",
            "type": "image/png",
            "disposition": "inline",
            "content_id": attachment["content_id"],
            "content": attachment["content"],
        }
    ]
    [_, sms] = sms_to(phone)
    assert "Pickup code: 40719263." in sms and "Tooley Street" in sms
    listed = notify.service.list_for_order(order.order_id)
    assert [e["state"] for e in listed["email"] + listed["sms"]] == ["sent"] * 4
    assert "40719263" not in str(listed)


def test_sendgrid_refuses_an_inline_attachment_without_a_content_id(
    sendgrid: SendGridFake,
) -> None:
    sendgrid.reset()
    body = {
        "personalizations": [{"to": [{"email": "grace@example.com"}]}],
        "from": {"email": "notify@lastmile.example"},
        "subject": "s",
        "content": [{"type": "text/plain", "value": "t"}],
        "attachments": [{"content": "iVBORw0KGgo=", "filename": "qr.png", "disposition": "inline"}],
    }
    client = SendGridAPIClient("SG.test-key", host=sendgrid.host)

    with pytest.raises(BadRequestsError):
        client.client.mail.send.post(request_body=body)
    body["attachments"][0]["content_id"] = "qr"  # type: ignore[index]
    assert client.client.mail.send.post(request_body=body).status_code == 202
