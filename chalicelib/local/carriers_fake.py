"""Local stand-ins for the partner carriers, on one HTTP server: Uber Direct under `/uber`
(OAuth token, delivery quotes valid 15 minutes, deliveries, cancel) and DoorDash Drive v2 under
`/doordash` (JWT-checked quotes, accept, deliveries, cancel). They answer in each API's shape
and errors, record every call (`GET /local/carriers/requests`), can be taken down (`outage`),
and on command send the carrier's signed status webhook to our endpoint, as the carrier would."""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import requests

from chalicelib.carriers import uber_direct
from chalicelib.carriers.doordash_drive import EVENTS
from chalicelib.carriers.ports import DOORDASH_DRIVE, UBER_DIRECT
from chalicelib.carriers.progress import STATUSES
from chalicelib.domain.times import iso_z
from chalicelib.local.outages import Outage

UBER_QUOTE_VALID = timedelta(minutes=15)
DELIVERY_TAKES = timedelta(minutes=40)  # the dropoff the stand-ins promise, from now
# DoorDash's statuses for the common ones the stand-in is told to send (carriers/progress.py).
DOORDASH_EVENTS = {common: name for name, common in reversed(list(EVENTS.items()))}
DOORDASH_STATUS = {
    "pending": "created",
    "pickup": "enroute_to_pickup",
    "pickup_complete": "picked_up",
    "dropoff": "enroute_to_dropoff",
    "delivered": "delivered",
    "canceled": "cancelled",
    "returned": "returned",
}

_UBER = re.compile(r"^/uber/v1/customers/(?P<customer>[^/]+)/(?P<rest>.+)$")


def local_carrier_credentials() -> dict[str, dict[str, str]]:
    """Fresh credentials for both carriers, as a runtime puts them in Secrets Manager."""
    return {
        UBER_DIRECT: {
            "customer_id": secrets.token_hex(8),
            "client_id": secrets.token_hex(8),
            "client_secret": secrets.token_urlsafe(24),
            "webhook_signing_key": secrets.token_urlsafe(32),
        },
        DOORDASH_DRIVE: {
            "developer_id": secrets.token_hex(8),
            "key_id": secrets.token_hex(8),
            "signing_secret": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            "webhook_authorization": "Bearer " + secrets.token_urlsafe(24),
        },
    }


class UnknownJob(LookupError):
    """No delivery of that id at that stand-in."""


def _now() -> datetime:
    return datetime.now(UTC)


class CarrierStandIns:
    """`UberDirect(session, creds, api_url=f"{fake.url}/uber", auth_url=fake.uber_auth_url)` and
    `DoorDashDrive(session, creds, api_url=f"{fake.url}/doordash/drive/v2")` talk to it."""

    def __init__(
        self,
        credentials: dict[str, dict[str, str]],
        *,
        fees: dict[str, int] | None = None,
        currency: str = "GBP",
        port: int = 0,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        """`credentials`: per carrier, what the adapter is given (the stand-in checks the same
        client secret, signing secret, and signs its webhooks with the same keys)."""
        self.credentials = credentials
        self.fees = {UBER_DIRECT: 850, DOORDASH_DRIVE: 975, **(fees or {})}
        self.currency = currency
        self.outage = Outage()
        self._clock = clock
        self._lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []
        self._tokens: set[str] = set()
        self._quotes: dict[str, dict[str, Any]] = {}  # by quote id (DoorDash: our order id)
        self._deliveries: dict[tuple[str, str], dict[str, Any]] = {}  # (carrier, job id)
        self._by_key: dict[tuple[str, str], str] = {}  # (carrier, idempotency key) -> job id
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, reply = fake._answer(self.command, self.path, headers, raw)
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.uber_api_url = f"{self.url}/uber"
        self.uber_auth_url = f"{self.url}/uber/oauth/v2/token"
        self.doordash_api_url = f"{self.url}/doordash/drive/v2"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> CarrierStandIns:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def received(self) -> list[dict[str, Any]]:
        """Every call received, oldest first: `{carrier, method, path, body, at, status}`."""
        with self._lock:
            return [dict(r) for r in self._requests]

    def delivery(self, carrier: str, job_id: str) -> dict[str, Any]:
        with self._lock:
            found = self._deliveries.get((carrier, job_id))
            if found is None:
                raise UnknownJob(job_id)
            return dict(found)

    # -- answering ---------------------------------------------------------------------------

    def _answer(
        self, method: str, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, Any]]:
        carrier = UBER_DIRECT if path.startswith("/uber/") else DOORDASH_DRIVE
        try:
            body = json.loads(raw) if raw and path != "/uber/oauth/v2/token" else {}
        except ValueError:
            body = None
        form = raw.decode(errors="replace") if path == "/uber/oauth/v2/token" else None
        with self._lock:
            call = {
                "carrier": carrier,
                "method": method,
                "path": path,
                # The token request's form carries the client secret: never kept.
                "body": {"grant_type": "client_credentials"} if form is not None else body,
                "at": iso_z(self._clock(), "milliseconds"),
            }
            self._requests.append(call)
            status, reply = self._answer_locked(carrier, method, path, headers, body, form)
            call["status"] = status  # what the stand-in answered
            return status, reply

    def _answer_locked(
        self,
        carrier: str,
        method: str,
        path: str,
        headers: dict[str, str],
        body: dict[str, Any] | None,
        form: str | None,
    ) -> tuple[int, dict[str, Any]]:
        down = self.outage.status()
        if down is not None:
            return down, _error(carrier, down, "service_unavailable", "try again later")
        if body is None:
            return _error_answer(carrier, 400, "invalid_params", "the body is not JSON")
        if carrier == UBER_DIRECT:
            return self._uber(method, path, headers, body, form)
        return self._doordash(method, path, headers, body)

    def _uber(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: dict[str, Any],
        form: str | None,
    ) -> tuple[int, dict[str, Any]]:
        creds = self.credentials.get(UBER_DIRECT, {})
        if path == "/uber/oauth/v2/token" and method == "POST":
            fields = dict(pair.split("=", 1) for pair in (form or "").split("&") if "=" in pair)
            good = fields.get("client_id") == creds.get("client_id") and secrets.compare_digest(
                fields.get("client_secret", ""), creds.get("client_secret", "")
            )
            if not good:
                return 401, {"error": "invalid_client"}
            token = "IA." + secrets.token_urlsafe(24)
            self._tokens.add(token)
            return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 2592000}
        found = _UBER.match(path)
        if found is None:
            return _error_answer(UBER_DIRECT, 404, "not_found", "no such resource")
        bearer = headers.get("authorization", "").removeprefix("Bearer ")
        if bearer not in self._tokens:
            return _error_answer(UBER_DIRECT, 401, "unauthorized", "invalid OAuth token")
        if found["customer"] != creds.get("customer_id"):
            return _error_answer(UBER_DIRECT, 403, "customer_not_found", "unknown customer")
        rest, now = found["rest"], self._clock()
        if rest == "delivery_quotes" and method == "POST":
            missing = [f for f in ("pickup_address", "dropoff_address") if not body.get(f)]
            if missing:
                return _error_answer(UBER_DIRECT, 400, "invalid_params", f"{missing[0]} required")
            quote: dict[str, Any] = {
                "kind": "delivery_quote",
                "id": "dqt_" + secrets.token_hex(12),
                "created": iso_z(now),
                "expires": iso_z(now + UBER_QUOTE_VALID),
                "fee": self.fees[UBER_DIRECT],
                "currency": self.currency.lower(),
                "currency_type": self.currency,
                "dropoff_eta": iso_z(now + DELIVERY_TAKES),
                "duration": int(DELIVERY_TAKES.total_seconds() // 60),
                "pickup_duration": 10,
            }
            self._quotes[quote["id"]] = quote
            return 200, quote
        if rest == "deliveries" and method == "POST":
            key = str(body.get("idempotency_key") or "")
            if key and (UBER_DIRECT, key) in self._by_key:
                return 200, dict(self._deliveries[(UBER_DIRECT, self._by_key[(UBER_DIRECT, key)])])
            quoted = self._quotes.get(str(body.get("quote_id")))
            if quoted is None:
                return _error_answer(UBER_DIRECT, 400, "invalid_params", "unknown quote_id")
            if iso_z(now) >= quoted["expires"]:
                return _error_answer(UBER_DIRECT, 400, "expired_quote", "the quote has expired")
            delivery: dict[str, Any] = {
                "kind": "delivery",
                "id": "del_" + secrets.token_hex(12),
                "quote_id": quoted["id"],
                "status": "pending",
                "fee": quoted["fee"],
                "currency": quoted["currency"],
                "external_id": body.get("external_id"),
                "created": iso_z(now),
                "dropoff_eta": quoted["dropoff_eta"],
                "tracking_url": "https://www.ubereats.com/orders/" + secrets.token_hex(8),
            }
            self._deliveries[(UBER_DIRECT, delivery["id"])] = delivery
            if key:
                self._by_key[(UBER_DIRECT, key)] = delivery["id"]
            return 200, dict(delivery)
        cancel = re.fullmatch(r"deliveries/([^/]+)/cancel", rest)
        if cancel and method == "POST":
            found_job = self._deliveries.get((UBER_DIRECT, cancel[1]))
            if found_job is None:
                return _error_answer(UBER_DIRECT, 404, "delivery_not_found", "unknown delivery")
            if found_job["status"] not in ("pending", "pickup"):
                return _error_answer(UBER_DIRECT, 400, "noncancelable_delivery", "picked up")
            found_job["status"] = "canceled"
            return 200, dict(found_job)
        return _error_answer(UBER_DIRECT, 404, "not_found", "no such resource")

    def _doordash(
        self, method: str, path: str, headers: dict[str, str], body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        if not self._doordash_token_good(headers.get("authorization", "")):
            return _error_answer(DOORDASH_DRIVE, 401, "authentication_error", "invalid JWT")
        rest, now = path.removeprefix("/doordash/drive/v2"), self._clock()
        if rest == "/quotes" and method == "POST":
            job_id = str(body.get("external_delivery_id") or "")
            if not job_id or not body.get("dropoff_address"):
                return _error_answer(
                    DOORDASH_DRIVE, 400, "validation_error", "external_delivery_id required"
                )
            if (DOORDASH_DRIVE, job_id) in self._deliveries:
                return _error_answer(DOORDASH_DRIVE, 409, "duplicate_delivery_id", "exists")
            quote: dict[str, Any] = {
                "external_delivery_id": job_id,
                "delivery_status": "quote",
                "fee": self.fees[DOORDASH_DRIVE],
                "currency": self.currency,
                "pickup_time_estimated": iso_z(now + timedelta(minutes=10)),
                "dropoff_time_estimated": iso_z(now + DELIVERY_TAKES),
                "expires": iso_z(now + timedelta(minutes=5)),
            }
            self._quotes[job_id] = quote
            return 200, {k: v for k, v in quote.items() if k != "expires"}
        accept = re.fullmatch(r"/quotes/([^/]+)/accept", rest)
        if accept and method == "POST":
            quoted = self._quotes.get(accept[1])
            if (DOORDASH_DRIVE, accept[1]) in self._deliveries:
                return _error_answer(DOORDASH_DRIVE, 409, "duplicate_delivery_id", "accepted")
            if quoted is None or iso_z(now) >= quoted["expires"]:
                return _error_answer(DOORDASH_DRIVE, 400, "validation_error", "quote expired")
            delivery = {**quoted, "delivery_status": "created"}
            delivery.pop("expires")
            self._deliveries[(DOORDASH_DRIVE, accept[1])] = delivery
            return 200, dict(delivery)
        one = re.fullmatch(r"/deliveries/([^/]+)(/cancel)?", rest)
        if one:
            found_job = self._deliveries.get((DOORDASH_DRIVE, one[1]))
            if found_job is None:
                return _error_answer(DOORDASH_DRIVE, 404, "not_found", "unknown delivery")
            if one[2] and method == "PUT":
                if found_job["delivery_status"] not in ("created", "enroute_to_pickup"):
                    return _error_answer(DOORDASH_DRIVE, 400, "validation_error", "picked up")
                found_job["delivery_status"] = "cancelled"
            return 200, dict(found_job)
        return _error_answer(DOORDASH_DRIVE, 404, "not_found", "no such resource")

    def _doordash_token_good(self, authorization: str) -> bool:
        creds = self.credentials.get(DOORDASH_DRIVE, {})
        secret = creds.get("signing_secret", "")
        try:
            key = base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))
            token = authorization.removeprefix("Bearer ")
            if jwt.get_unverified_header(token).get("dd-ver") != "DD-JWT-V1":
                return False
            claims = jwt.decode(
                token,
                key,
                algorithms=["HS256"],
                audience="doordash",
                issuer=creds.get("developer_id"),
                options={"require": ["exp", "iat", "kid"]},
            )
        except (jwt.PyJWTError, ValueError):
            return False
        return bool(claims.get("kid") == creds.get("key_id"))

    # -- webhooks ----------------------------------------------------------------------------

    def webhooks(
        self,
        carrier: str,
        job_id: str,
        status: str,
        courier: dict[str, float] | None = None,
    ) -> list[tuple[bytes, dict[str, str]]]:
        """The signed webhook(s) the carrier sends as delivery `job_id` reaches `status` (its
        body and headers), the delivery moved on with it. UnknownJob for a delivery it never
        made; ValueError for a status the carrier does not have."""
        with self._lock:
            delivery = self._deliveries.get((carrier, job_id))
            if delivery is None:
                raise UnknownJob(job_id)
            at = iso_z(self._clock(), "milliseconds")
            creds = self.credentials.get(carrier, {})
            if carrier == UBER_DIRECT:
                if status not in STATUSES:
                    raise ValueError(f"Uber Direct has no status {status!r}")
                delivery["status"] = status
                data = {"id": job_id, "status": status, "external_id": delivery["external_id"]}
                if courier is not None:
                    data["courier"] = {"name": "Sam", "location": dict(courier)}
                event = {
                    "id": "evt_" + secrets.token_hex(12),
                    "kind": "event.delivery_status",
                    "status": status,
                    "delivery_id": job_id,
                    "created": at,
                    "data": data,
                }
                raw = json.dumps(event).encode()
                key = creds.get("webhook_signing_key", "")
                return [(raw, {"x-uber-signature": uber_direct.signature(raw, key)})]
            if status not in DOORDASH_EVENTS:
                raise ValueError(f"DoorDash Drive has no status {status!r}")
            delivery["delivery_status"] = DOORDASH_STATUS[status]
            payload: dict[str, Any] = {
                "event_name": DOORDASH_EVENTS[status],
                "external_delivery_id": job_id,
                "created_at": at,
                "delivery_status": DOORDASH_STATUS[status],
            }
            if courier is not None:
                payload["dasher_location"] = dict(courier)
            raw = json.dumps(payload).encode()
            return [(raw, {"authorization": creds.get("webhook_authorization", "")})]

    def send_status(
        self,
        endpoint: str,
        carrier: str,
        job_id: str,
        statuses: Sequence[str],
        *,
        courier: dict[str, float] | None = None,
        repeat: int = 1,
        session: requests.Session | None = None,
    ) -> list[int]:
        """Send the webhooks for `statuses` in the order given (a carrier does not order them),
        each `repeat` times (DoorDash delivers up to three), to `endpoint`; the answers."""
        sender = session or requests.Session()
        answers: list[int] = []
        for status in statuses:
            for raw, headers in self.webhooks(carrier, job_id, status, courier) * repeat:
                sent = sender.post(
                    endpoint,
                    data=raw,
                    headers={**headers, "Content-Type": "application/json"},
                    timeout=10,
                )
                answers.append(sent.status_code)
        return answers


def _error_answer(carrier: str, status: int, code: str, message: str) -> tuple[int, dict[str, Any]]:
    return status, _error(carrier, status, code, message)


def _error(carrier: str, status: int, code: str, message: str) -> dict[str, Any]:
    """Each carrier's error shape: Uber `{code, message, kind: error}`, DoorDash `{code,
    message, field_errors}`."""
    if carrier == UBER_DIRECT:
        return {"code": code, "message": message, "kind": "error"}
    return {"code": code, "message": message, "field_errors": []}
