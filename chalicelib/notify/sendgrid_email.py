"""Email through SendGrid's v3 mail/send, behind the EmailChannel port."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING
from urllib.error import URLError

from chalicelib.notify.messages import Email, VendorRejected, VendorUnavailable

if TYPE_CHECKING:
    from sendgrid import SendGridAPIClient


def _transient(status: int) -> bool:
    return status == 429 or status >= 500


class SendGridEmail:
    """Sends one email per call; the message's tags travel as SendGrid `custom_args` (they
    come back on SendGrid's event webhook, and let a local fake tell which order it is for),
    its inline images as attachments with disposition "inline" and their content id."""

    def __init__(self, client: SendGridAPIClient, sender: str, *, timeout_s: float = 10.0) -> None:
        self._client = client
        self._sender = sender
        self._timeout_s = timeout_s

    def send(self, email: Email) -> str:
        """SendGrid's message id; raises VendorRejected (4xx) or VendorUnavailable (429, 5xx,
        no answer)."""
        # The SDK is imported here, not at import: only the notify function sends email.
        from python_http_client.exceptions import HTTPError
        from sendgrid.helpers.mail import (
            Attachment,
            ContentId,
            CustomArg,
            Disposition,
            FileContent,
            FileName,
            FileType,
            From,
            Mail,
        )

        mail = Mail(
            from_email=From(self._sender, email.sender_name),
            to_emails=email.to,
            subject=email.subject,
            plain_text_content=email.text,
            html_content=email.html,
        )
        for key, value in email.tags.items():
            mail.add_custom_arg(CustomArg(key, value))
        for image in email.attachments:
            mail.add_attachment(
                Attachment(
                    FileContent(base64.b64encode(image.content).decode("ascii")),
                    FileName(image.filename),
                    FileType(image.content_type),
                    Disposition("inline"),
                    ContentId(image.content_id),
                )
            )
        try:
            # The SDK's send() takes no timeout; a Lambda must not hang on a silent socket.
            response = self._client.client.mail.send.post(
                request_body=mail.get(), timeout=self._timeout_s
            )
        except HTTPError as exc:
            status = int(exc.status_code)
            answer = _text(exc.body)
            error = VendorUnavailable if _transient(status) else VendorRejected
            raise error(f"SendGrid answered {status}", status=status, answer=answer) from exc
        except (URLError, TimeoutError, ConnectionError) as exc:
            raise VendorUnavailable(
                f"SendGrid unreachable: {exc}", status="network", answer=str(exc)
            ) from exc
        headers = response.headers
        return str(headers.get("X-Message-Id") or headers.get("x-message-id") or "")


def _text(body: bytes | str | None) -> str:
    if body is None:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    return text[:1000]
