"""Uber Direct (DaaS API v1): a quote valid 15 minutes (`dqt_...`, fee in minor units), a
delivery created from it, cancel, and the `x-uber-signature` status webhooks (hex HMAC-SHA256 of
the raw body with the webhook signing key). Over `requests`; OAuth client credentials."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from chalicelib.carriers.http_answers import json_answer
from chalicelib.carriers.ports import (
    UBER_DIRECT,
    CarrierJob,
    CarrierUnavailable,
    CarrierUpdate,
    CourierPosition,
    Handoff,
    Money,
    Quote,
    courier_position,
)
from chalicelib.carriers.progress import STATUSES
from chalicelib.domain.errors import MalformedBody, SignatureInvalid
from chalicelib.domain.times import utc_now

API_URL = "https://api.uber.com"
AUTH_URL = "https://auth.uber.com/oauth/v2/token"
SCOPE = "eats.deliveries"
SIGNATURE_HEADER = "x-uber-signature"
TOKEN_MARGIN_S = 60  # a token is renewed this long before it lapses


def signature(body: bytes, signing_key: str) -> str:
    """What Uber puts in `x-uber-signature` for `body` (the stand-in signs with it too)."""
    return hmac.new(signing_key.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, headers: Mapping[str, str], signing_key: str) -> None:
    """SignatureInvalid unless `headers` carry the body's signature (constant-time compare)."""
    given = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER), None)
    if not given or not signing_key:
        raise SignatureInvalid("missing x-uber-signature")
    expected = signature(body, signing_key).encode()
    if not hmac.compare_digest(given.strip().lower().encode(), expected):
        raise SignatureInvalid("x-uber-signature does not match the body")


def translate(body: bytes) -> CarrierUpdate:
    """A verified `event.delivery_status` webhook as a CarrierUpdate; MalformedBody otherwise."""
    try:
        event = json.loads(body)
    except ValueError as exc:
        raise MalformedBody("the webhook body is not JSON") from exc
    if not isinstance(event, dict):
        raise MalformedBody("the webhook body is not an object")
    found = event.get("data")
    data: dict[str, Any] = found if isinstance(found, dict) else {}
    status = event.get("status") or data.get("status")
    job_id = event.get("delivery_id") or data.get("id")
    if not isinstance(job_id, str) or not job_id:
        raise MalformedBody("delivery_id: missing")
    if status not in STATUSES:
        raise MalformedBody(f"status: {status!r} is not an Uber Direct delivery status")
    external = data.get("external_id")
    at = event.get("created")
    return CarrierUpdate(
        carrier=UBER_DIRECT,
        job_id=job_id,
        external_id=external if isinstance(external, str) else None,
        status=str(status),
        at=at if isinstance(at, str) else utc_now(),
        courier=_courier(data.get("courier")),
    )


def _courier(courier: Any) -> CourierPosition | None:
    return courier_position(courier.get("location") if isinstance(courier, dict) else None)


class UberDirect:
    name = UBER_DIRECT

    def __init__(
        self,
        session: requests.Session,
        credentials: Mapping[str, str],
        *,
        api_url: str = API_URL,
        auth_url: str = AUTH_URL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`credentials`: customer_id, client_id, client_secret, webhook_signing_key (from
        Secrets Manager); `api_url`/`auth_url` point at the local stand-in in tests."""
        self._session = session
        self._credentials = dict(credentials)
        self._api = f"{api_url.rstrip('/')}/v1/customers/{credentials['customer_id']}"
        self._auth_url = auth_url
        self._clock = clock
        self._lock = threading.Lock()
        self._token: tuple[str, float] | None = None

    def quote(self, handoff: Handoff) -> Quote:
        answer = self._call("POST", "/delivery_quotes", _quote_body(handoff))
        try:
            return Quote(
                carrier=UBER_DIRECT,
                quote_id=str(answer["id"]),
                fee=Money(int(answer["fee"]), str(answer["currency"]).upper()),
                dropoff_eta=str(answer["dropoff_eta"]),
                expires_at=str(answer["expires"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CarrierUnavailable("Uber's quote lacks id, fee, currency or times") from exc

    def create(self, handoff: Handoff, quote: Quote) -> CarrierJob:
        body = {
            **_quote_body(handoff),
            "quote_id": quote.quote_id,
            "pickup_name": handoff.pickup.name,
            "pickup_phone_number": handoff.pickup.phone,
            "dropoff_name": handoff.dropoff.name,
            "dropoff_phone_number": handoff.dropoff.phone,
            "manifest_items": [{"name": "parcel", "quantity": handoff.items, "size": "medium"}],
            "external_id": handoff.order_id,
            "idempotency_key": handoff.order_id,
        }
        answer = self._call("POST", "/deliveries", body)
        try:
            return CarrierJob(
                carrier=UBER_DIRECT,
                job_id=str(answer["id"]),
                status=str(answer["status"]),
                fee=Money(int(answer["fee"]), str(answer["currency"]).upper()),
                quote_id=quote.quote_id,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CarrierUnavailable("Uber's delivery lacks id, status or fee") from exc

    def cancel(self, job_id: str) -> None:
        self._call("POST", f"/deliveries/{job_id}/cancel", {})

    def update(self, raw_body: bytes, headers: Mapping[str, str]) -> CarrierUpdate:
        verify(raw_body, headers, self._credentials.get("webhook_signing_key", ""))
        return translate(raw_body)

    def _bearer(self) -> str:
        with self._lock:
            now = self._clock()
            if self._token is not None and self._token[1] > now:
                return self._token[0]
            form = {
                "client_id": self._credentials["client_id"],
                "client_secret": self._credentials["client_secret"],
                "grant_type": "client_credentials",
                "scope": SCOPE,
            }
            answer = self._send("POST", self._auth_url, data=form)
            try:
                token, lasts = str(answer["access_token"]), float(answer["expires_in"])
            except (KeyError, TypeError, ValueError) as exc:
                raise CarrierUnavailable("Uber's token answer lacks a token") from exc
            self._token = (token, now + max(0.0, lasts - TOKEN_MARGIN_S))
            return token

    def _call(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self._bearer()}"}
        return self._send(method, self._api + path, json=body, headers=headers)

    def _send(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        return json_answer(
            self._session, method, url, carrier="Uber", error_code=_error_code, **kwargs
        )


def _error_code(answer: dict[str, Any]) -> object:
    """The code of Uber's error body, `{code, message, kind: "error", metadata}`."""
    return answer.get("code")


def _quote_body(handoff: Handoff) -> dict[str, Any]:
    return {
        "pickup_address": handoff.pickup.address,
        "pickup_latitude": handoff.pickup.lat,
        "pickup_longitude": handoff.pickup.lng,
        "dropoff_address": handoff.dropoff.address,
        "dropoff_latitude": handoff.dropoff.lat,
        "dropoff_longitude": handoff.dropoff.lng,
        "pickup_ready_dt": handoff.ready_at,
        "dropoff_deadline_dt": handoff.deliver_by,
    }
