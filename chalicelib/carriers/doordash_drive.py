"""DoorDash Drive v2: a quote (fee in cents) accepted into a delivery, cancel, JWT auth (HS256
over the developer id, key id and signing secret, `dd-ver: DD-JWT-V1`), and the status webhooks,
which DoorDash authenticates with the Authorization header set on the endpoint and delivers up
to three times, in any order (carriers/progress.py orders them)."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from chalicelib.carriers.http_answers import json_answer
from chalicelib.carriers.ports import (
    DOORDASH_DRIVE,
    CarrierDeclined,
    CarrierJob,
    CarrierUnavailable,
    CarrierUpdate,
    Handoff,
    Money,
    Quote,
    courier_position,
)
from chalicelib.domain.errors import MalformedBody, SignatureInvalid
from chalicelib.domain.times import utc_now

API_URL = "https://openapi.doordash.com/drive/v2"
TOKEN_LIFETIME_S = 300  # DoorDash accepts tokens of at most 30 minutes; ours last five
# Quotes are valid five minutes after they are made (DoorDash's documented window).
QUOTE_VALID_S = 300

# DoorDash's webhook events in Uber Direct's words (carriers/progress.py); events not listed
# (DASHER_ENROUTE_TO_RETURN, DELIVERY_ATTEMPTED...) change nothing.
EVENTS = {
    "DELIVERY_CREATED": "pending",
    "DASHER_CONFIRMED": "pending",
    "DASHER_ENROUTE_TO_PICKUP": "pickup",
    "DASHER_CONFIRMED_PICKUP_ARRIVAL": "pickup",
    "DASHER_PICKED_UP": "pickup_complete",
    "DASHER_ENROUTE_TO_DROPOFF": "dropoff",
    "DASHER_CONFIRMED_DROPOFF_ARRIVAL": "dropoff",
    "DASHER_DROPPED_OFF": "delivered",
    "DELIVERY_CANCELLED": "canceled",
    "DELIVERY_RETURNED": "returned",
}


def bearer_token(
    developer_id: str, key_id: str, signing_secret: str, now: Callable[[], float] = time.time
) -> str:
    """A Drive API token: HS256 with the base64url-decoded signing secret, as DoorDash documents."""
    import jwt  # here, not at import: PyJWT loads cryptography, which the API Lambda defers

    try:
        key = base64.urlsafe_b64decode(signing_secret + "=" * (-len(signing_secret) % 4))
    except (binascii.Error, ValueError) as exc:
        raise CarrierDeclined("the DoorDash signing secret is not base64url") from exc
    issued = int(now())
    claims = {
        "aud": "doordash",
        "iss": developer_id,
        "kid": key_id,
        "exp": issued + TOKEN_LIFETIME_S,
        "iat": issued,
    }
    return jwt.encode(claims, key, algorithm="HS256", headers={"dd-ver": "DD-JWT-V1"})


def verify(headers: Mapping[str, str], expected: str) -> None:
    """SignatureInvalid unless the webhook carries the Authorization value set on the endpoint."""
    given = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
    if not given or not expected:
        raise SignatureInvalid("missing Authorization")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise SignatureInvalid("Authorization does not match the webhook's")


def translate(body: bytes) -> CarrierUpdate:
    try:
        event = json.loads(body)
    except ValueError as exc:
        raise MalformedBody("the webhook body is not JSON") from exc
    if not isinstance(event, dict):
        raise MalformedBody("the webhook body is not an object")
    job_id, name = event.get("external_delivery_id"), event.get("event_name")
    if not isinstance(job_id, str) or not job_id:
        raise MalformedBody("external_delivery_id: missing")
    if not isinstance(name, str):
        raise MalformedBody("event_name: missing")
    at = event.get("created_at")
    return CarrierUpdate(
        carrier=DOORDASH_DRIVE,
        job_id=job_id,
        external_id=job_id,
        status=EVENTS.get(name, name.lower()),
        at=at if isinstance(at, str) else utc_now(),
        courier=courier_position(event.get("dasher_location")),
    )


class DoorDashDrive:
    name = DOORDASH_DRIVE

    def __init__(
        self,
        session: requests.Session,
        credentials: Mapping[str, str],
        *,
        api_url: str = API_URL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`credentials`: developer_id, key_id, signing_secret, webhook_authorization."""
        self._session = session
        self._credentials = dict(credentials)
        self._api = api_url.rstrip("/")
        self._clock = clock

    def quote(self, handoff: Handoff) -> Quote:
        body = {
            "external_delivery_id": handoff.order_id,
            "pickup_address": handoff.pickup.address,
            "pickup_business_name": handoff.pickup.name,
            "pickup_phone_number": handoff.pickup.phone,
            "dropoff_address": handoff.dropoff.address,
            "dropoff_location": {"lat": handoff.dropoff.lat, "lng": handoff.dropoff.lng},
            "dropoff_contact_given_name": handoff.dropoff.name,
            "dropoff_phone_number": handoff.dropoff.phone,
            "pickup_time": handoff.ready_at,
        }
        answer = self._call("POST", "/quotes", body)
        try:
            made = time.gmtime(self._clock() + QUOTE_VALID_S)
            return Quote(
                carrier=DOORDASH_DRIVE,
                quote_id=str(answer["external_delivery_id"]),
                fee=Money(int(answer["fee"]), str(answer["currency"]).upper()),
                dropoff_eta=str(answer["dropoff_time_estimated"]),
                expires_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", made),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CarrierUnavailable("DoorDash's quote lacks its id, fee or times") from exc

    def create(self, handoff: Handoff, quote: Quote) -> CarrierJob:
        try:
            answer = self._call("POST", f"/quotes/{quote.quote_id}/accept", {})
        except CarrierDeclined:
            # Accepted already (a retried handoff): the delivery stands under our order id.
            answer = self._call("GET", f"/deliveries/{quote.quote_id}", None)
        try:
            return CarrierJob(
                carrier=DOORDASH_DRIVE,
                job_id=str(answer["external_delivery_id"]),
                status=str(answer["delivery_status"]),
                fee=Money(int(answer["fee"]), str(answer["currency"]).upper()),
                quote_id=quote.quote_id,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CarrierUnavailable("DoorDash's delivery lacks its id, status or fee") from exc

    def cancel(self, job_id: str) -> None:
        self._call("PUT", f"/deliveries/{job_id}/cancel", None)

    def update(self, raw_body: bytes, headers: Mapping[str, str]) -> CarrierUpdate:
        verify(headers, self._credentials.get("webhook_authorization", ""))
        return translate(raw_body)

    def _call(self, method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        token = bearer_token(
            self._credentials["developer_id"],
            self._credentials["key_id"],
            self._credentials["signing_secret"],
            self._clock,
        )
        return json_answer(
            self._session,
            method,
            self._api + path,
            carrier="DoorDash",
            error_code=_error_code,
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        )


def _error_code(answer: dict[str, Any]) -> object:
    """The code of DoorDash's error body, `{code, message, field_errors}`."""
    return answer.get("code")
