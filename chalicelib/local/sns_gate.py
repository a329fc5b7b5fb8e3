"""A gate in front of moto's SNS for the local runtime: the SNS client is pointed at it
(`AWS_ENDPOINT_URL_SNS`), it passes every call through to moto, and during an outage it answers
as SNS does when throttling or failing (its Query protocol's XML error), so the SDK's retries
and our adapter's translation run as against AWS."""

from __future__ import annotations

import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

from chalicelib.local.outages import Outage

# What SNS answers with each status (its error codes; 429 is how throttling reaches the SDK).
_ERRORS = {
    429: ("Sender", "Throttling", "Rate exceeded"),
    500: ("Receiver", "InternalError", "An internal error occurred"),
    502: ("Receiver", "InternalFailure", "Bad gateway"),
    503: ("Receiver", "ServiceUnavailable", "Service is unavailable"),
    504: ("Receiver", "InternalFailure", "Gateway timeout"),
}
# Headers that belong to one hop, not to the request or its answer.
_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "host"}
)


def sns_error(status: int) -> bytes:
    kind, code, message = _ERRORS.get(status, ("Receiver", "InternalFailure", "error"))
    return (
        '<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
        f"<Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error>"
        f"<RequestId>{secrets.token_hex(16)}</RequestId></ErrorResponse>"
    ).encode()


class SnsGate:
    """`boto3.client("sns", endpoint_url=gate.endpoint)` talks to moto through it."""

    def __init__(self, upstream: str, port: int = 0) -> None:
        self.outage = Outage()
        self._upstream = upstream.rstrip("/")
        self._session = requests.Session()
        gate = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                down = gate.outage.status()
                if down is not None:
                    self._reply(down, sns_error(down), {"Content-Type": "text/xml"})
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                answer = gate._session.post(
                    gate._upstream + self.path, data=raw, headers=headers, timeout=30
                )
                passed = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP}
                self._reply(answer.status_code, answer.content, passed)

            def _reply(self, status: int, data: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> SnsGate:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._session.close()
