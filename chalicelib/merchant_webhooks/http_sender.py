"""POSTing a signed event to a merchant's endpoint: the host resolved once, every address it
resolves to checked, and the connection made to a checked address (TLS still verified for the
name, which goes as SNI and Host), so a DNS answer that changes between check and connect
cannot lead it inside. No redirect is followed, the whole attempt has one deadline, and only
the start of the answer is read. Any answer or failure comes back as an Answer (the dispatcher
decides what it means), never as an exception."""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from requests.certs import where as ca_bundle

from chalicelib.merchant_webhooks.addresses import (
    IPAddress,
    ResolutionFailed,
    Resolver,
    SystemResolver,
    Target,
    UnsafeUrl,
    check_addresses,
    parse_target,
)

TIMEOUT_S = 5.0  # each connect, and each wait for the next bytes
DEADLINE_S = 10.0  # the whole attempt: resolving, connecting, TLS, sending, the answer
KEEP_ANSWER_CHARS = 200  # of the endpoint's reply, for the merchant to read in the record


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no HTTP answer (refused address, timeout, TLS error)
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Sender(Protocol):
    def post(self, url: str, body: str, headers: Mapping[str, str]) -> Answer: ...


class _Pinned:
    """What both connection kinds share: the socket goes to the checked address, whatever the
    host name resolves to by now; `abort` (from the deadline's timer thread) wakes whatever
    the connection is blocked in: connecting, the TLS handshake, sending, reading."""

    address: str
    timeout: float | None
    port: int

    def _pin(self, address: str) -> None:
        self.address = address
        self.aborted = False
        self._closed = False
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()  # abort and close never race over the socket

    def _dial(self) -> socket.socket:
        raw = socket.create_connection((self.address, self.port), self.timeout)
        self._hold(raw)
        return raw

    def _hold(self, sock: socket.socket) -> None:
        with self._lock:
            if not self.aborted:
                self._socket = sock
                return
        sock.close()
        raise TimeoutError("the deadline passed while connecting")

    def abort(self) -> None:
        with self._lock:
            self.aborted = True
            if self._socket is None or self._closed:
                return
            try:
                # The plain socket's shutdown even under TLS: it wakes a thread blocked in
                # recv or send without touching the TLS object that thread is using.
                socket.socket.shutdown(self._socket, socket.SHUT_RDWR)
            except OSError:
                pass  # not connected any more: nothing to wake

    def _closing(self) -> None:
        with self._lock:
            self._closed = True


class PinnedHTTPConnection(_Pinned, http.client.HTTPConnection):
    def __init__(self, target: Target, address: str, timeout_s: float) -> None:
        http.client.HTTPConnection.__init__(self, target.host, target.port, timeout=timeout_s)
        self._pin(address)

    def connect(self) -> None:
        self.sock = self._dial()

    def close(self) -> None:
        self._closing()
        super().close()


class PinnedHTTPSConnection(_Pinned, http.client.HTTPSConnection):
    def __init__(
        self, target: Target, address: str, timeout_s: float, context: ssl.SSLContext
    ) -> None:
        http.client.HTTPSConnection.__init__(
            self, target.host, target.port, timeout=timeout_s, context=context
        )
        self._pin(address)
        self._tls = context

    def connect(self) -> None:
        # SNI and the certificate check are for the name, not the address we dialled. The
        # handshake waits until the TLS socket is held, so the deadline can wake it too.
        tls = self._tls.wrap_socket(
            self._dial(), server_hostname=self.host, do_handshake_on_connect=False
        )
        self._hold(tls)
        self.sock = tls
        tls.do_handshake()

    def close(self) -> None:
        self._closing()
        super().close()


def default_tls() -> ssl.SSLContext:
    """Certificates verified against the CA bundle requests ships (certifi), hostname checked."""
    return ssl.create_default_context(cafile=ca_bundle())


class PinnedSender:
    def __init__(
        self,
        *,
        resolver: Resolver | None = None,
        allow_local_http: bool = False,
        timeout_s: float = TIMEOUT_S,
        deadline_s: float = DEADLINE_S,
        tls: ssl.SSLContext | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._resolver = resolver or SystemResolver()
        self._allow_local_http = allow_local_http
        self._timeout = timeout_s
        self._deadline = deadline_s
        self._tls = tls or default_tls()
        self._monotonic = monotonic

    def post(self, url: str, body: str, headers: Mapping[str, str]) -> Answer:
        ends = self._monotonic() + self._deadline
        try:
            target = parse_target(url, allow_local_http=self._allow_local_http)
            found = self._resolver.resolve(target.host, target.port, self._deadline)
            addresses = check_addresses(target, found)
        except UnsafeUrl as exc:
            return Answer(None, f"refused: {exc}"[:KEEP_ANSWER_CHARS])
        except ResolutionFailed as exc:
            return Answer(None, f"ResolutionFailed: {exc}"[:KEEP_ANSWER_CHARS])
        answer = self._late()
        for address in addresses:
            left = ends - self._monotonic()
            if left <= 0:
                return self._late()
            answer, connected = self._post_to(target, address, left, body, headers)
            if connected:
                return answer
            # Not connected at this address: the next checked one may answer.
        return answer

    def _post_to(
        self,
        target: Target,
        address: IPAddress,
        left: float,
        body: str,
        headers: Mapping[str, str],
    ) -> tuple[Answer, bool]:
        """The answer, and whether a connection was made (if not, another address may do)."""
        timeout = min(self._timeout, left)
        connection: PinnedHTTPConnection | PinnedHTTPSConnection = (
            PinnedHTTPSConnection(target, str(address), timeout, self._tls)
            if target.scheme == "https"
            else PinnedHTTPConnection(target, str(address), timeout)
        )
        # The per-read timeout cannot stop an endpoint that sends a byte a second; this can.
        watchdog = threading.Timer(left, connection.abort)
        watchdog.daemon = True
        watchdog.start()
        try:
            try:
                connection.connect()
            except OSError as exc:
                if connection.aborted:
                    return self._late(), True
                detail = f"connecting to {address}: {type(exc).__name__}: {exc}"
                return Answer(None, detail[:KEEP_ANSWER_CHARS]), False
            try:
                connection.request("POST", target.path, body=body.encode(), headers=dict(headers))
                response = connection.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                if connection.aborted:
                    return self._late(), True
                return Answer(None, f"{type(exc).__name__}: {exc}"[:KEEP_ANSWER_CHARS]), True
            try:
                start = response.read(KEEP_ANSWER_CHARS)
            except (OSError, http.client.HTTPException):
                start = b""  # the status came; a body cut off at the deadline is no matter
            # A 3xx is returned as it is: never followed, so it is a failed attempt.
            return Answer(response.status, start.decode("utf-8", "replace")), True
        finally:
            watchdog.cancel()
            connection.close()

    def _late(self) -> Answer:
        return Answer(None, f"no answer within the {self._deadline:g} s deadline")
