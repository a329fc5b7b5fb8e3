"""Carrier webhooks are believed only when signed: Uber's x-uber-signature (HMAC-SHA256 of the
raw body) and DoorDash's endpoint Authorization value; checked before the body is parsed."""

from __future__ import annotations

import json

import pytest

from chalicelib.carriers import doordash_drive, uber_direct
from chalicelib.carriers.ports import CourierPosition
from chalicelib.domain.errors import MalformedBody, SignatureInvalid

KEY = "whsec-uber-test-key"
BODY = json.dumps(
    {
        "kind": "event.delivery_status",
        "status": "pickup_complete",
        "delivery_id": "del_abc",
        "created": "2026-12-01T15:00:00Z",
        "data": {"external_id": "ord_1", "courier": {"location": {"lat": 51.5, "lng": -0.12}}},
    }
).encode()


def test_a_good_uber_signature_is_believed_and_translated() -> None:
    headers = {"X-Uber-Signature": uber_direct.signature(BODY, KEY)}
    uber_direct.verify(BODY, headers, KEY)
    update = uber_direct.translate(BODY)
    assert (update.job_id, update.status, update.external_id) == (
        "del_abc",
        "pickup_complete",
        "ord_1",
    )
    assert update.courier == CourierPosition(51.5, -0.12)


@pytest.mark.parametrize(
    "headers",
    [
        {},  # missing
        {"x-uber-signature": ""},
        {"x-uber-signature": "0" * 64},  # bad
        {"x-uber-signature": uber_direct.signature(BODY, "another-key")},  # wrong key
        {"x-uber-signature": uber_direct.signature(BODY + b" ", KEY)},  # another body
    ],
)
def test_a_missing_bad_or_wrongly_keyed_uber_signature_is_refused(headers: dict[str, str]) -> None:
    with pytest.raises(SignatureInvalid):
        uber_direct.verify(BODY, headers, KEY)


def test_without_a_signing_key_nothing_is_believed() -> None:
    with pytest.raises(SignatureInvalid):
        uber_direct.verify(BODY, {"x-uber-signature": uber_direct.signature(BODY, "")}, "")


def test_the_signature_is_checked_before_the_body_is_parsed() -> None:
    class Session:  # the adapter must not need the network to refuse a webhook
        pass

    adapter = uber_direct.UberDirect(
        Session(),  # type: ignore[arg-type]
        {"customer_id": "c", "client_id": "i", "client_secret": "s", "webhook_signing_key": KEY},
    )
    with pytest.raises(SignatureInvalid):
        adapter.update(b"not json at all", {"x-uber-signature": "00"})
    good = b"not json at all"
    with pytest.raises(MalformedBody):
        adapter.update(good, {"x-uber-signature": uber_direct.signature(good, KEY)})


def test_an_uber_status_we_do_not_know_is_malformed() -> None:
    body = json.dumps({"delivery_id": "del_x", "status": "teleported"}).encode()
    with pytest.raises(MalformedBody, match="status"):
        uber_direct.translate(body)


def test_a_courier_position_off_the_earth_is_dropped() -> None:
    body = json.dumps(
        {
            "delivery_id": "del_x",
            "status": "dropoff",
            "data": {"courier": {"location": {"lat": 200, "lng": 0}}},
        }
    ).encode()
    assert uber_direct.translate(body).courier is None


@pytest.mark.parametrize("given", [None, "", "Bearer wrong", "Bearer dd-hook-secretX"])
def test_doordash_webhooks_need_the_endpoint_authorization(given: str | None) -> None:
    headers = {} if given is None else {"Authorization": given}
    with pytest.raises(SignatureInvalid):
        doordash_drive.verify(headers, "Bearer dd-hook-secret")


def test_doordash_events_translate_into_the_common_statuses() -> None:
    body = json.dumps(
        {
            "event_name": "DASHER_PICKED_UP",
            "external_delivery_id": "ord_9",
            "created_at": "2026-12-01T15:00:00Z",
            "dasher_location": {"lat": 40.7, "lng": -74.0},
        }
    ).encode()
    doordash_drive.verify({"authorization": "Bearer dd-hook-secret"}, "Bearer dd-hook-secret")
    update = doordash_drive.translate(body)
    assert (update.job_id, update.status) == ("ord_9", "pickup_complete")
    assert update.courier == CourierPosition(40.7, -74.0)
