"""SMS through Amazon SNS (publish to a phone number), behind the SmsChannel port."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.aws_errors import error_code
from chalicelib.notify.messages import Sms, VendorRejected, VendorUnavailable

# Error codes that mean "later" rather than "never".
_TRANSIENT = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "InternalError",
        "InternalFailure",
        "ServiceUnavailable",
        "KMSThrottling",
    }
)

# Called with each SMS SNS accepted and its message id (the local stage captures them).
Published = Callable[[Sms, str], None]


class SnsSms:
    def __init__(
        self,
        sns_client: Any,
        *,
        sender_id: str | None = None,
        on_published: Published | None = None,
    ) -> None:
        self._sns = sns_client
        self._sender_id = sender_id
        self._on_published = on_published

    def opted_out(self, phone: str) -> bool:
        """Whether the number replied STOP (SNS then refuses to text it)."""
        try:
            answer = self._sns.check_if_phone_number_is_opted_out(phoneNumber=phone)
        except ClientError as exc:
            raise _translated(exc) from exc
        except BotoCoreError as exc:
            raise VendorUnavailable(f"SNS: {exc}", status="network", answer=str(exc)) from exc
        return bool(answer.get("isOptedOut"))

    def send(self, sms: Sms) -> str:
        """SNS's message id; raises VendorRejected or VendorUnavailable."""
        attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}
        if self._sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = {
                "DataType": "String",
                "StringValue": self._sender_id,
            }
        try:
            answer = self._sns.publish(
                PhoneNumber=sms.to, Message=sms.body, MessageAttributes=attributes
            )
        except ClientError as exc:
            raise _translated(exc) from exc
        except BotoCoreError as exc:
            raise VendorUnavailable(f"SNS: {exc}", status="network", answer=str(exc)) from exc
        message_id = str(answer["MessageId"])
        if self._on_published is not None:
            self._on_published(sms, message_id)
        return message_id


def _translated(exc: ClientError) -> VendorRejected | VendorUnavailable:
    code = error_code(exc)
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    answer = f"{code}: {exc.response.get('Error', {}).get('Message', '')}"
    if code in _TRANSIENT or status == 429 or status >= 500:
        return VendorUnavailable(f"SNS unavailable ({code})", status=code, answer=answer)
    return VendorRejected(f"SNS refused ({code})", status=code, answer=answer)
