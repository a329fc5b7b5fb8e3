"""The webhook sender against servers on this machine: every resolved address checked, the
connection pinned to the checked one (Host, SNI and the certificate still for the name), and a
slow endpoint cut off at the attempt's deadline."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from chalicelib.merchant_webhooks.addresses import ResolutionFailed, parse_target
from chalicelib.merchant_webhooks.http_sender import PinnedHTTPSConnection, PinnedSender

HEADERS = {"content-type": "application/json", "webhook-id": "msg_1"}


class ScriptedResolver:
    """DNS that answers each lookup of a name with the next of its answers (the last one
    repeating): a rebinding name answers a checked address first, then a private one."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def resolve(self, host: str, port: int, timeout_s: float) -> list[str]:
        self.asked.append(host)
        if host not in self.answers:
            raise ResolutionFailed(f"{host} does not resolve")
        queue = self.answers[host]
        return queue.pop(0) if len(queue) > 1 else queue[0]


@dataclass
class Receiver:
    server: ThreadingHTTPServer
    hosts: list[str] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            box.hosts.append(str(self.headers["host"]))
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box = Receiver(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield box
    server.shutdown()
    server.server_close()


def test_a_name_resolving_to_a_private_address_is_refused_at_delivery() -> None:
    dns = ScriptedResolver(
        {"internal.shop.example": [["10.0.0.1"]], "mixed.shop.example": [["8.8.8.8", "10.0.0.1"]]}
    )
    sender = PinnedSender(resolver=dns)

    for url in ("https://internal.shop.example/hooks", "https://mixed.shop.example/hooks"):
        answer = sender.post(url, "{}", HEADERS)
        assert answer.status is None and not answer.ok
        assert answer.detail.startswith("refused:") and "private" in answer.detail


def test_every_resolved_address_is_checked_not_only_the_first(receiver: Receiver) -> None:
    # On the local stage 127.0.0.1 would be allowed: the second address alone refuses it.
    dns = ScriptedResolver({"hooks.shop.example": [["127.0.0.1", "10.0.0.1"]]})
    sender = PinnedSender(resolver=dns, allow_local_http=True)

    answer = sender.post(f"http://hooks.shop.example:{receiver.port}/h", "{}", HEADERS)

    assert answer.status is None and answer.detail.startswith("refused:")
    assert receiver.hosts == []


def test_the_connection_goes_to_the_checked_address_keeping_the_name(receiver: Receiver) -> None:
    # The name answers this machine once, then a private address (rebinding): the sender asks
    # once and connects where it checked. The name is in no real DNS, so reaching the
    # receiver at all shows the connection was pinned.
    dns = ScriptedResolver({"hooks.shop.example": [["127.0.0.1"], ["10.0.0.1"]]})
    sender = PinnedSender(resolver=dns, allow_local_http=True)

    answer = sender.post(f"http://hooks.shop.example:{receiver.port}/h", "{}", HEADERS)

    assert (answer.status, answer.detail) == (200, "ok")
    assert dns.asked == ["hooks.shop.example"]
    assert receiver.hosts == [f"hooks.shop.example:{receiver.port}"]


@dataclass
class Tls:
    ca_file: Path
    port: int
    server_names: list[str | None]


def _certificate(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Certificate | None, signer: Any
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = dt.datetime.now(dt.UTC)
    built = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
    )
    if issuer is None:
        built = built.add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
    else:
        built = built.add_extension(x509.SubjectAlternativeName([x509.DNSName(subject)]), False)
    return built.sign(signer, hashes.SHA256())


@pytest.fixture
def tls_receiver(tmp_path: Path) -> Iterator[Tls]:
    """An https endpoint on 127.0.0.1 with a certificate for hooks.shop.example from a test
    CA; it records the SNI name each handshake asked for."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("lastmile test CA", ca_key, None, ca_key)
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = _certificate("hooks.shop.example", key, ca, ca_key)
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    names: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "leaf.pem", tmp_path / "key.pem")
    context.sni_callback = lambda sock, name, ctx: names.append(name)  # type: ignore[assignment,misc,return-value]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield Tls(tmp_path / "ca.pem", int(server.server_address[1]), names)
    server.shutdown()
    server.server_close()


def test_tls_to_the_pinned_address_still_verifies_the_certificate_for_the_name(
    tls_receiver: Tls,
) -> None:
    trust = ssl.create_default_context(cafile=str(tls_receiver.ca_file))
    target = parse_target(
        f"https://hooks.shop.example:{tls_receiver.port}/h", allow_local_http=False
    )
    pinned = PinnedHTTPSConnection(target, "127.0.0.1", 5.0, trust)
    try:
        pinned.request("POST", target.path, body=b"{}", headers=HEADERS)
        assert pinned.getresponse().status == 204
    finally:
        pinned.close()
    assert tls_receiver.server_names == ["hooks.shop.example"]

    # The same address under a name the certificate does not carry: the handshake fails.
    other = parse_target(f"https://other.example:{tls_receiver.port}/h", allow_local_http=False)
    wrong = PinnedHTTPSConnection(other, "127.0.0.1", 5.0, trust)
    with pytest.raises(ssl.SSLCertVerificationError):
        wrong.connect()
    wrong.close()


@dataclass
class Drip:
    port: int
    sent: list[int]  # bytes written to each connection before it was closed on the server
    stop: threading.Event


@pytest.fixture
def slow_drip() -> Iterator[Drip]:
    """An endpoint that reads the request, then sends its answer a byte a second (for up to
    30 s): every read gets a byte well inside any per-read timeout."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.5)
    sent: list[int] = []
    stop = threading.Event()
    answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.recv(65536)
                count = 0
                for _ in range(30):
                    if stop.wait(1.0):
                        break
                    try:
                        connection.sendall(answer[count % len(answer) : count % len(answer) + 1])
                    except OSError:
                        break
                    count += 1
                sent.append(count)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield Drip(int(listener.getsockname()[1]), sent, stop)
    stop.set()
    thread.join(5)
    listener.close()


def test_a_slow_drip_endpoint_is_cut_off_at_the_deadline(slow_drip: Drip) -> None:
    sender = PinnedSender(allow_local_http=True, timeout_s=5.0, deadline_s=2.0)

    answer = sender.post(f"http://127.0.0.1:{slow_drip.port}/h", "{}", HEADERS)

    assert answer.status is None and answer.detail == "no answer within the 2 s deadline"
    # The client hung up: the endpoint's next writes failed long before its 30 bytes.
    for _ in range(50):
        if slow_drip.sent:
            break
        threading.Event().wait(0.1)
    [sent] = slow_drip.sent
    assert sent < 10


def test_the_deadline_wakes_a_tls_handshake_that_never_finishes() -> None:
    # An endpoint that accepts the connection and never says a word of TLS.
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True).start()
    target = parse_target(
        f"https://hooks.shop.example:{listener.getsockname()[1]}/h", allow_local_http=False
    )
    pinned = PinnedHTTPSConnection(target, "127.0.0.1", 60.0, ssl.create_default_context())
    timer = threading.Timer(0.5, pinned.abort)
    timer.start()
    try:
        with pytest.raises(OSError) as woken:
            pinned.connect()
        # Woken by the abort (the peer's end shut), not by the 60 s read timeout.
        assert pinned.aborted and not isinstance(woken.value, TimeoutError)
    finally:
        timer.cancel()
        pinned.close()
        for sock in accepted:
            sock.close()
        listener.close()
