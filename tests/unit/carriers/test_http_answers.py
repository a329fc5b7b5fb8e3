"""How a carrier's HTTP answer is read, through a real requests.Session whose transport answers
from memory: 429, 5xx, no answer and a 2xx that is not a JSON object are worth asking again;
any other status is a refusal naming the carrier's error code; a 2xx's object is returned."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from chalicelib.carriers.doordash_drive import DoorDashDrive
from chalicelib.carriers.http_answers import TIMEOUT, json_answer
from chalicelib.carriers.ports import CarrierDeclined, CarrierUnavailable, Handoff, Place
from chalicelib.carriers.uber_direct import UberDirect

URL = "https://carrier.test/v1/quotes"
HANDOFF = Handoff(
    order_id="ord_0123456789abcdef0123",
    pickup=Place("1 Depot Way, London E1 1AA", 51.515, -0.072, "Depot East"),
    dropoff=Place("2 High St, London E2 2BB", 51.53, -0.06, "Ada"),
    ready_at="2026-12-01T15:00:00Z",
    deliver_by="2026-12-01T18:00:00Z",
    items=1,
)
# Each carrier's own error body (as the local stand-ins answer them, chalicelib/local)
UBER_ERROR = {"code": "invalid_params", "message": "dropoff_address: required", "kind": "error"}
DOORDASH_ERROR = {"code": "duplicate_delivery_id", "message": "in use", "field_errors": []}
UBER_TOKEN = json.dumps({"access_token": "t", "expires_in": 3600}).encode()


class Answers(BaseAdapter):
    """A transport answering `status` and `body` to every request (or raising `error`), and
    keeping what it was sent and within which timeout."""

    def __init__(
        self, status: int = 200, body: bytes = b"{}", error: Exception | None = None
    ) -> None:
        super().__init__()
        self.status, self.body, self.error = status, body, error
        self.sent: list[tuple[requests.PreparedRequest, Any]] = []

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, timeout: Any = None, **_: Any
    ) -> requests.Response:
        self.sent.append((request, timeout))
        if self.error is not None:
            raise self.error
        response = requests.Response()
        response.status_code = self.status
        response.raw = io.BytesIO(self.body)
        response.headers = CaseInsensitiveDict({"Content-Type": "application/json"})
        response.request, response.url = request, str(request.url)
        return response

    def close(self) -> None:
        pass


def a_session(answers: Answers) -> requests.Session:
    session = requests.Session()
    session.mount("https://carrier.test/", answers)
    return session


def ask(answers: Answers, **kwargs: Any) -> dict[str, Any]:
    return json_answer(
        a_session(answers),
        "POST",
        URL,
        carrier="Acme",
        error_code=lambda body: body.get("reason"),
        **kwargs,
    )


def test_a_2xx_object_is_the_answer_and_the_request_goes_as_given_within_the_timeout() -> None:
    answers = Answers(201, json.dumps({"id": "q1", "fee": 850}).encode())
    got = ask(answers, json={"a": 1}, headers={"Authorization": "Bearer t"})
    assert got == {"id": "q1", "fee": 850}
    [(request, timeout)] = answers.sent
    assert (request.method, request.url, timeout) == ("POST", URL, TIMEOUT)
    assert request.headers["Authorization"] == "Bearer t"
    assert isinstance(request.body, bytes) and json.loads(request.body) == {"a": 1}


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_throttling_and_server_errors_are_worth_asking_again(status: int) -> None:
    body = json.dumps({"reason": "busy"}).encode()
    with pytest.raises(CarrierUnavailable, match=f"^Acme answered {status}$"):
        ask(Answers(status, body))


@pytest.mark.parametrize(
    "error", [requests.Timeout(), requests.ConnectTimeout(), requests.ConnectionError()]
)
def test_no_answer_in_time_or_no_connection_is_worth_asking_again(error: Exception) -> None:
    with pytest.raises(CarrierUnavailable, match=f"^Acme did not answer \\({type(error).__name__}"):
        ask(Answers(error=error))


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_other_refusals_are_declines_naming_the_carriers_code(status: int) -> None:
    body = json.dumps({"reason": "out_of_area", "code": "not_this_one"}).encode()
    with pytest.raises(CarrierDeclined, match=f"^Acme answered {status} \\(out_of_area\\)$"):
        ask(Answers(status, body))


@pytest.mark.parametrize("body", [b"<html>Bad Request</html>", b"", b'["a list"]', b"{}"])
def test_a_refusal_without_a_code_says_so(body: bytes) -> None:
    with pytest.raises(CarrierDeclined, match=r"^Acme answered 400 \(no code\)$"):
        ask(Answers(400, body))


def test_a_redirect_left_unfollowed_is_a_refusal() -> None:
    with pytest.raises(CarrierDeclined, match=r"^Acme answered 304 \(no code\)$"):
        ask(Answers(304, b""))


@pytest.mark.parametrize("body", [b"<html>ok</html>", b"", b"[1, 2]", b'"text"', b"null"])
def test_a_2xx_that_is_not_a_json_object_is_worth_asking_again(body: bytes) -> None:
    with pytest.raises(CarrierUnavailable, match=r"^Acme's answer is not a JSON object$"):
        ask(Answers(200, body))


def test_uber_declines_name_the_code_of_ubers_error_body() -> None:
    session = a_session(Answers(422, json.dumps(UBER_ERROR).encode()))
    session.mount("https://auth.carrier.test/", Answers(200, UBER_TOKEN))
    adapter = UberDirect(
        session,
        {"customer_id": "c", "client_id": "i", "client_secret": "s"},
        api_url="https://carrier.test",
        auth_url="https://auth.carrier.test/oauth/v2/token",
    )
    with pytest.raises(CarrierDeclined, match=r"^Uber answered 422 \(invalid_params\)$"):
        adapter.quote(HANDOFF)


def test_doordash_declines_name_the_code_of_doordashs_error_body() -> None:
    session = a_session(Answers(409, json.dumps(DOORDASH_ERROR).encode()))
    secret = base64.urlsafe_b64encode(b"k" * 32).decode()
    adapter = DoorDashDrive(
        session,
        {"developer_id": "d", "key_id": "k", "signing_secret": secret},
        api_url="https://carrier.test/drive/v2",
    )
    with pytest.raises(CarrierDeclined, match=r"^DoorDash answered 409 \(duplicate_delivery_id\)$"):
        adapter.quote(HANDOFF)
