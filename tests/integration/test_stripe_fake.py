"""The local Stripe stand-in reads what the stripe SDK sends and answers as Stripe does: the
same Idempotency-Key replays the first answer, a meter event's identifier is taken once."""

from __future__ import annotations

from urllib.parse import urlencode

from stripe._encode import _api_encode  # the SDK's own form encoder

from chalicelib.local.stripe_fake import StripeFake, decode_form

AUTH = {"authorization": "Bearer sk_test_unit"}


def _form(params: dict[str, object]) -> bytes:
    return urlencode(list(_api_encode(params))).encode()


def _fake() -> StripeFake:
    return StripeFake(
        webhook_url=lambda: "http://127.0.0.1:9/none", webhook_secret=lambda: "x"
    ).start()


def test_the_sdks_nested_form_encoding_reads_back_as_it_was() -> None:
    params = {
        "mode": "payment",
        "line_items": [{"quantity": 1, "price_data": {"currency": "eur", "unit_amount": 450}}],
        "metadata": {"lastmile_action": "act_1"},
    }
    assert decode_form(_form(params)) == {
        "mode": "payment",
        "line_items": [{"quantity": "1", "price_data": {"currency": "eur", "unit_amount": "450"}}],
        "metadata": {"lastmile_action": "act_1"},
    }


def test_an_idempotency_key_replays_and_an_identifier_is_taken_once() -> None:
    fake = _fake()
    try:
        body = _form(
            {
                "event_name": "delivered_parcels",
                "identifier": "lm_ord_1_p0",
                "payload": {"stripe_customer_id": "cus_1", "value": "1"},
            }
        )
        path = "/v1/billing/meter_events"
        first = fake._answer("POST", path, AUTH | {"idempotency-key": "k1"}, body)
        replay = fake._answer("POST", path, AUTH | {"idempotency-key": "k1"}, body)
        other_key = fake._answer("POST", path, AUTH | {"idempotency-key": "k2"}, body)
        assert first == replay and first[0] == 200
        assert first[1]["identifier"] == "lm_ord_1_p0"
        assert other_key[0] == 400
        assert other_key[1]["error"]["code"] == "duplicate_meter_event"
        unauthorised = fake._answer("POST", path, {}, body)
        assert unauthorised[0] == 401
        fake.outage.begin(503, 60)
        assert fake._answer("POST", path, AUTH | {"idempotency-key": "k3"}, body)[0] == 503
        recorded = fake.requests()
        assert [r["status"] for r in recorded] == [200, 200, 400, 401, 503]
        assert recorded[0]["params"]["payload"] == {"stripe_customer_id": "cus_1", "value": "1"}
    finally:
        fake.stop()
