"""A local stand-in for the parts of Stripe's API lastmile calls: Billing meter events and
Checkout sessions. It reads the form-encoded bodies the `stripe` SDK sends, answers with
Stripe-shaped objects and errors, replays the first answer to a repeated `Idempotency-Key`
(as Stripe does for 24 hours), refuses a second meter event with the same `identifier`, records
every call for `GET /local/stripe/requests`, can be taken down (`outage`), and completes a test
Checkout session by sending the signed `checkout.session.completed` webhook Stripe would."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests

from chalicelib.local.outages import Outage

SESSION_TTL_S = 24 * 3600  # Stripe's default expiry of a Checkout session

_STATUS_ERRORS = {
    429: ("rate_limit_error", "rate_limit", "Too many requests hit the API too quickly."),
    500: ("api_error", None, "An unknown error occurred on Stripe's end."),
    502: ("api_error", None, "Bad gateway."),
    503: ("api_error", None, "Stripe is temporarily unavailable."),
    504: ("api_error", None, "Gateway timeout."),
}


class StripeError(Exception):
    """An answer Stripe gives as `{"error": {...}}` with an HTTP status."""

    def __init__(self, status: int, type_: str, message: str, **more: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": type_, "message": message, **more}}


def decode_form(raw: bytes) -> dict[str, Any]:
    """Stripe's form encoding (`a[b][0][c]=v`) back to nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(raw.decode("utf-8"), keep_blank_values=True):
        head, _, rest = key.partition("[")
        parts = [head] + ([p.rstrip("]") for p in ("[" + rest).split("[")[1:]] if rest else [])
        node: Any = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            child: Any = value if last else ({} if not parts[index + 1].isdigit() else [])
            if isinstance(node, list):
                position = int(part)
                while len(node) <= position:
                    node.append(None)
                if last or node[position] is None:
                    node[position] = child
                node = node[position]
            else:
                if last or part not in node:
                    node[part] = child
                node = node[part]
    return root


def signature_header(payload: str, secret: str, at: int | None = None) -> str:
    """A `Stripe-Signature` header for `payload`, as Stripe signs its webhooks."""
    timestamp = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


class StripeFake:
    """`StripeClient(key, base_addresses={"api": fake.api_base})` talks to it."""

    def __init__(
        self,
        *,
        webhook_url: Callable[[], str],
        webhook_secret: Callable[[], str],
        port: int = 0,
    ) -> None:
        self._webhook_url = webhook_url
        self._webhook_secret = webhook_secret
        self.outage = Outage()
        self._lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []
        self._replies: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
        self._meter_identifiers: set[str] = set()
        self._sessions: dict[str, dict[str, Any]] = {}
        self._rates: dict[str, dict[str, Any]] = {}
        self._session_accounts: dict[str, str | None] = {}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, reply = fake._answer(self.command, self.path, headers, raw)
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Request-Id", "req_" + secrets.token_hex(7))
                if headers.get("idempotency-key"):
                    self.send_header("Idempotency-Key", headers["idempotency-key"])
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self.api_base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> StripeFake:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._requests]

    def _answer(
        self, method: str, target: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, Any]]:
        url = urlsplit(target)
        params = decode_form(raw if method == "POST" else url.query.encode())
        key = headers.get("idempotency-key")
        with self._lock:
            record: dict[str, Any] = {
                "method": method,
                "path": url.path,
                "params": params,
                "idempotency_key": key,
                "at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            }
            self._requests.append(record)
            status, body = self._reply(method, url.path, params, headers, key)
            record["status"] = status  # what it answered, beside what the contract lists
            return status, body

    def _reply(
        self,
        method: str,
        path: str,
        params: dict[str, Any],
        headers: dict[str, str],
        key: str | None,
    ) -> tuple[int, dict[str, Any]]:
        down = self.outage.status()
        if down:
            # Stripe does not store an answer it failed to give: a retry is a new attempt.
            kind, code, message = _STATUS_ERRORS.get(down, _STATUS_ERRORS[500])
            return down, StripeError(down, kind, message, code=code).body
        if method == "POST" and key and (path, key) in self._replies:
            return self._replies[(path, key)]
        try:
            if not headers.get("authorization", "").startswith("Bearer sk_"):
                raise StripeError(401, "invalid_request_error", "Invalid API Key provided.")
            reply = 200, self._route(method, path, params, headers)
        except StripeError as exc:
            reply = exc.status, exc.body
        if method == "POST" and key:
            self._replies[(path, key)] = reply
        return reply

    def _route(
        self, method: str, path: str, params: dict[str, Any], headers: dict[str, str]
    ) -> dict[str, Any]:
        if method == "POST" and path == "/v1/billing/meter_events":
            return self._meter_event(params)
        if method == "POST" and path == "/v1/checkout/sessions":
            return self._create_session(params, headers.get("stripe-account"))
        if method == "GET" and path.startswith("/v1/checkout/sessions/"):
            return self._session(path.rsplit("/", 1)[1])
        if method == "GET" and path.startswith("/v1/shipping_rates/"):
            rate = self._rates.get(path.rsplit("/", 1)[1])
            if rate is None:
                raise StripeError(
                    404,
                    "invalid_request_error",
                    f"No such shipping_rate: '{path.rsplit('/', 1)[1]}'",
                    code="resource_missing",
                )
            return rate
        raise StripeError(404, "invalid_request_error", f"Unrecognized request URL ({path}).")

    def _meter_event(self, params: dict[str, Any]) -> dict[str, Any]:
        payload = params.get("payload") or {}
        if not params.get("event_name"):
            raise StripeError(
                400, "invalid_request_error", "Missing event_name", param="event_name"
            )
        if not payload.get("stripe_customer_id"):
            raise StripeError(
                400,
                "invalid_request_error",
                "Missing payload.stripe_customer_id",
                param="payload[stripe_customer_id]",
            )
        identifier = params.get("identifier") or "evt_" + secrets.token_hex(12)
        if identifier in self._meter_identifiers:
            raise StripeError(
                400,
                "invalid_request_error",
                f"An event already exists with identifier {identifier}.",
                code="duplicate_meter_event",
                param="identifier",
            )
        self._meter_identifiers.add(identifier)
        now = int(time.time())
        return {
            "object": "billing.meter_event",
            "created": now,
            "event_name": params["event_name"],
            "identifier": identifier,
            "livemode": False,
            "payload": payload,
            "timestamp": int(params.get("timestamp") or now),
        }

    def _create_session(self, params: dict[str, Any], account: str | None) -> dict[str, Any]:
        if params.get("mode") not in ("payment", "setup", "subscription"):
            raise StripeError(400, "invalid_request_error", "Missing mode", param="mode")
        if not params.get("success_url"):
            raise StripeError(400, "invalid_request_error", "Missing success_url")
        session_id = "cs_test_" + secrets.token_urlsafe(24).replace("-", "a").replace("_", "b")
        items = params.get("line_items") or []
        total = sum(
            int((item.get("price_data") or {}).get("unit_amount") or 0)
            * int(item.get("quantity") or 1)
            for item in items
        )
        currency = next(
            ((item.get("price_data") or {}).get("currency") for item in items), None
        ) or ("eur" if not items else None)
        now = int(time.time())
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": params["mode"],
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": total,
            "currency": currency,
            "metadata": params.get("metadata") or {},
            "client_reference_id": params.get("client_reference_id"),
            "success_url": params["success_url"],
            "cancel_url": params.get("cancel_url"),
            "url": f"{self.api_base}/c/pay/{session_id}",
            "created": now,
            "expires_at": int(params.get("expires_at") or now + SESSION_TTL_S),
            "shipping_options": self._shipping_options(params),
            "livemode": False,
        }
        self._sessions[session_id] = session
        self._session_accounts[session_id] = account
        return session

    def _shipping_options(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Each shipping_rate_data becomes a shipping rate of its own, as Stripe makes them."""
        options = []
        for option in params.get("shipping_options") or []:
            data = option.get("shipping_rate_data") if isinstance(option, dict) else None
            if not isinstance(data, dict):
                continue
            fixed = data.get("fixed_amount") or {}
            rate_id = "shr_" + secrets.token_hex(12)
            self._rates[rate_id] = {
                "id": rate_id,
                "object": "shipping_rate",
                "active": True,
                "display_name": data.get("display_name"),
                "type": data.get("type", "fixed_amount"),
                "fixed_amount": {
                    "amount": int(fixed.get("amount") or 0),
                    "currency": fixed.get("currency"),
                },
                "delivery_estimate": data.get("delivery_estimate"),
                "metadata": data.get("metadata") or {},
                "livemode": False,
            }
            options.append(
                {"shipping_amount": int(fixed.get("amount") or 0), "shipping_rate": rate_id}
            )
        return options

    def _session(self, session_id: str) -> dict[str, Any]:
        session = self._sessions.get(session_id)
        if session is None:
            raise StripeError(
                404,
                "invalid_request_error",
                f"No such checkout.session: '{session_id}'",
                code="resource_missing",
            )
        return session

    def complete(
        self,
        session_id: str,
        *,
        shipping: dict[str, Any] | None = None,
        shipping_option: int = 0,
        deliveries: int = 1,
    ) -> dict[str, Any]:
        """Pay a test session as a customer would: it becomes complete and paid, and Stripe's
        `checkout.session.completed` goes to the platform's webhook, signed (`deliveries`
        times, the same event: Stripe delivers at least once). The webhook's answers."""
        with self._lock:
            session = self._session(session_id)
            if session["status"] != "open":
                raise StripeError(
                    400,
                    "invalid_request_error",
                    f"This Checkout Session is {session['status']}.",
                    code="checkout_session_not_open",
                )
            if session["expires_at"] <= time.time():
                session["status"] = "expired"
                raise StripeError(400, "invalid_request_error", "This Checkout Session expired.")
            session["status"] = "complete"
            session["payment_status"] = "paid" if session["amount_total"] else "no_payment_required"
            options = session["shipping_options"]
            if options:
                chosen = options[min(shipping_option, len(options) - 1)]
                session["shipping_cost"] = {
                    "amount_subtotal": chosen["shipping_amount"],
                    "amount_tax": 0,
                    "amount_total": chosen["shipping_amount"],
                    "shipping_rate": chosen["shipping_rate"],
                }
                session["amount_total"] += chosen["shipping_amount"]
            if shipping is not None:
                session["collected_information"] = {"shipping_details": shipping}
                session["customer_details"] = {"name": shipping.get("name"), "email": None}
            event = {
                "id": "evt_" + secrets.token_hex(12),
                "object": "event",
                "api_version": "2025-03-31.basil",
                "created": int(time.time()),
                "type": "checkout.session.completed",
                "livemode": False,
                "data": {"object": json.loads(json.dumps(session))},
            }
            account = self._session_accounts.get(session_id)
            if account:
                event["account"] = account
        payload = json.dumps(event)
        answers = []
        for _ in range(deliveries):
            answer = requests.post(
                self._webhook_url(),
                data=payload,
                headers={
                    "Content-Type": "application/json; charset=utf-8",
                    "Stripe-Signature": signature_header(payload, self._webhook_secret()),
                },
                timeout=30,
            )
            answers.append({"status": answer.status_code, "body": answer.json()})
        return {"event_id": event["id"], "session": session, "webhook": answers}

    def expire(self, session_id: str) -> dict[str, Any]:
        """An abandoned session expiring (Stripe sends checkout.session.expired; lastmile
        ignores it: nothing was paid, so nothing happens)."""
        with self._lock:
            session = self._session(session_id)
            if session["status"] == "open":
                session["status"] = "expired"
            return session
