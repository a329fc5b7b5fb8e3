"""A local stand-in for SendGrid's v3 mail/send: answers like SendGrid (202 with X-Message-Id,
or the errors it documents), records each accepted email (with its attachments, such as a
pickup code's inline QR code) for `GET /local/outbox`, can be scripted to answer a sequence
of statuses (429, 500, 400...) for tests, and taken down for a while (`outage`)."""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from chalicelib.local import capture
from chalicelib.local.outages import Outage

_ERRORS = {
    400: "The request body is invalid.",
    401: "The provided authorization grant is invalid, expired, or revoked",
    413: "The JSON payload you have included in your request is too large.",
    429: "too many requests",
    500: "internal server error",
    503: "service unavailable",
}


@dataclass(frozen=True)
class Received:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]  # lower-case names


class SendGridFake:
    """`SendGridAPIClient(api_key, host=fake.host)` talks to it."""

    def __init__(self, port: int = 0) -> None:
        self.requests: list[Received] = []  # every request, whatever was answered
        self.accepted: list[dict[str, Any]] = []  # what was captured, as in /local/outbox
        self._script: deque[int] = deque()
        self.outage = Outage()  # while it lasts, every request gets its status
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, reply, extra = fake._answer(self.path, headers, raw)
                data = json.dumps(reply).encode() if reply is not None else b""
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self.host = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> SendGridFake:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def script(self, statuses: Iterable[int]) -> None:
        """Answer the next requests with these statuses, in order; 202 once they run out."""
        with self._lock:
            self._script.extend(statuses)

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
            self.requests.clear()
            self.accepted.clear()

    def _answer(
        self, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        with self._lock:
            down = self.outage.status()
            scripted = self._script.popleft() if self._script and not down else None
            status = down or scripted or self._check(path, headers, body)
            self.requests.append(Received(status, body if isinstance(body, dict) else {}, headers))
            if status != 202:
                return status, _error(status), {}
            message_id = secrets.token_urlsafe(16)
            captured = _captured(body)
            self.accepted.append({**captured, "message_id": message_id})
        capture.record(captured)
        return 202, None, {"X-Message-Id": message_id}

    @staticmethod
    def _check(path: str, headers: dict[str, str], body: Any) -> int:
        """What SendGrid would answer to this request on its own."""
        if path.rstrip("/") != "/v3/mail/send":
            return 404
        if not headers.get("authorization", "").startswith("Bearer "):
            return 401
        if not isinstance(body, dict):
            return 400
        personalizations = body.get("personalizations") or []
        has_to = bool(personalizations) and all(p.get("to") for p in personalizations)
        has_subject = bool(body.get("subject")) or all(p.get("subject") for p in personalizations)
        if not (
            has_to and has_subject and body.get("from", {}).get("email") and body.get("content")
        ):
            return 400
        if not all(_valid_attachment(a) for a in body.get("attachments") or []):
            return 400
        return 202


def _valid_attachment(attachment: Any) -> bool:
    """What SendGrid asks of an attachment: base64 content and a filename; an inline one also
    needs the content_id its HTML refers to."""
    if not isinstance(attachment, dict) or not attachment.get("filename"):
        return False
    if not isinstance(attachment.get("content"), str) or not attachment["content"]:
        return False
    try:
        base64.b64decode(attachment["content"], validate=True)
    except binascii.Error:
        return False
    return attachment.get("disposition", "attachment") != "inline" or bool(
        attachment.get("content_id")
    )


def _captured(body: dict[str, Any]) -> dict[str, Any]:
    personalization = body["personalizations"][0]
    custom_args = {**(body.get("custom_args") or {}), **(personalization.get("custom_args") or {})}
    text = next((c["value"] for c in body["content"] if c.get("type") == "text/plain"), "")
    captured = {
        "channel": "email",
        "to": personalization["to"][0]["email"],
        "subject": personalization.get("subject") or body.get("subject"),
        "body": text,
        "order_id": custom_args.get("order_id"),
        "at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    if body.get("attachments"):
        captured["attachments"] = [
            {
                "filename": a["filename"],
                "type": a.get("type"),
                "disposition": a.get("disposition", "attachment"),
                "content_id": a.get("content_id"),
                "content": a["content"],  # base64, as sent
            }
            for a in body["attachments"]
        ]
    return captured


def _error(status: int) -> dict[str, Any]:
    return {"errors": [{"message": _ERRORS.get(status, "error"), "field": None, "help": None}]}
