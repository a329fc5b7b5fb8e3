"""What notify/ sends: the message types it knows, the outgoing email and SMS, and the vendor
errors the channels translate their SDKs' failures into."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from chalicelib.domain.errors import DomainError
from chalicelib.domain.order import ORDER_MESSAGES

# The outbox message types a customer hears about (others are logged and skipped).
MESSAGE_TYPES = ORDER_MESSAGES


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


class State(StrEnum):
    SENDING = "sending"  # claimed: an attempt is under way
    SENT = "sent"
    FAILED = "failed"  # the vendor refused it for good (4xx): never retried
    SKIPPED = "skipped"  # nothing to send to (no address, invalid number, opted out)
    RETRY = "retry"  # the vendor was unavailable: the next delivery of the message tries again


@dataclass(frozen=True)
class NotificationRecord:
    """What became of one message on one channel, as the notification log keeps it."""

    message_type: str
    channel: str
    state: State
    attempts: int = 0
    claimed_at: str | None = None
    updated_at: str | None = None
    to: str | None = None
    message_id: str | None = None
    reason: str | None = None
    vendor_status: str | None = None
    vendor_answer: str | None = None


@dataclass(frozen=True)
class InlineAttachment:
    """An image sent inside the email (disposition inline), shown by the HTML part through
    `<img src="cid:{content_id}">`."""

    content_id: str
    filename: str
    content_type: str  # "image/png"
    content: bytes = field(repr=False)


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    html: str
    text: str
    sender_name: str  # the merchant's name: the customer knows the shop, not us
    tags: dict[str, str] = field(default_factory=dict)  # order_id etc., travel with the mail
    attachments: tuple[InlineAttachment, ...] = ()  # what the HTML shows (a pickup QR code)


@dataclass(frozen=True)
class Sms:
    to: str  # E.164
    body: str
    tags: dict[str, str] = field(default_factory=dict)


class VendorRejected(DomainError):
    """The vendor refused the message (4xx other than 429): sending it again cannot help."""

    code = "vendor_rejected"

    def __init__(self, message: str, *, status: int | str, answer: str) -> None:
        super().__init__(message)
        self.status = status
        self.answer = answer


class VendorUnavailable(DomainError):
    """The vendor throttled us (429) or failed (5xx, network): worth trying again later."""

    code = "vendor_unavailable"

    def __init__(self, message: str, *, status: int | str, answer: str) -> None:
        super().__init__(message)
        self.status = status
        self.answer = answer


class DeliveryDeferred(DomainError):
    """A channel stayed unavailable after the retries within one call: the message's claim is
    left in `retry` and this propagates so the stream delivers the message again."""

    code = "delivery_deferred"
