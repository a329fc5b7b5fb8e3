"""Bodies are bounded before anything reads them: what no store can hold is refused naming its
field, malformed bodies are 400, model-level checks name the field at fault, and the framework's
own refusals come in the one error shape."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from chalice import Chalice
from chalice.test import Client
from pydantic import BaseModel, ValidationError, model_validator
from pynamodb.exceptions import PutError

from chalicelib.api.http import parse_body, route, uniform_errors
from chalicelib.domain.errors import MalformedBody, ValidationFailed
from chalicelib.request_bodies import MAX_DEPTH, Id, Moment, parse_json, validation_failed


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"a": [1, {"b": 1e-200}]}', "a.1.b"),  # decimal.Underflow in DynamoDB
        (b'{"a": 1e-400}', "a"),  # reads as 0.0: refused rather than stored as another value
        (b'{"a": 1e400}', "a"),  # infinite
        (b'{"a": 1e126}', "a"),  # past DynamoDB's 9.99e125
        (b'{"a": NaN}', "a"),
        (b'{"a": -Infinity}', "a"),
        (b'{"a": ' + b"9" * 5000 + b"}", "a"),  # past Python's int-string limit
        (b'{"a": ' + b"9" * 39 + b"}", "a"),  # past DynamoDB's 38 digits
        (b'{"a": "\\ud800"}', "a"),  # a lone surrogate: no UTF-8 store holds it
        (b'{"\\udfff": 1}', "body"),  # in a key
        (b"[1e-200]", "0"),
    ],
)
def test_values_no_store_can_hold_are_422_naming_the_field(body: bytes, field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_json(body)
    assert not isinstance(refused.value, MalformedBody)
    assert refused.value.field == field
    assert refused.value.message.startswith(f"{field}: ")


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 10_000 + b"]" * 10_000,  # past the recursion limit
        b"[" * (MAX_DEPTH + 2) + b"]" * (MAX_DEPTH + 2),  # parses, but deeper than allowed
        b'{"a": "caf\xe9"}',  # Latin-1, not UTF-8
        b"\xff\xfe{\x00}\x00",  # UTF-16 with its BOM
        b'{"a": 1',
        b"",
    ],
)
def test_malformed_bodies_are_400(body: bytes) -> None:
    with pytest.raises(MalformedBody):
        parse_json(body)


def test_what_the_store_holds_passes_unchanged() -> None:
    body = {"zero": 0.0, "small": 1e-128, "large": 9e125, "digits": 10**37, "text": "café 🚲"}
    nested: Any = body
    for _ in range(MAX_DEPTH - 1):
        nested = [nested]
    assert parse_json(json.dumps(nested).encode()) == nested


class _Shift(BaseModel):
    start: Moment
    end: Moment

    @model_validator(mode="after")
    def _order(self) -> _Shift:
        if self.end <= self.start:
            raise ValueError("end: after the start")
        return self


class _Fleet(BaseModel):
    depot_id: Id
    shifts: list[_Shift]


def _refusal(data: Any, prefix: str = "") -> ValidationFailed:
    with pytest.raises(ValidationError) as caught:
        _Fleet.model_validate(data)
    return validation_failed(caught.value, prefix=prefix)


SHIFT = {"start": "2030-01-01T08:00:00+00:00", "end": "2030-01-01T18:00:00+00:00"}


def test_a_model_level_check_names_the_field_it_found_at_fault() -> None:
    late = {"start": SHIFT["end"], "end": SHIFT["start"]}
    refused = _refusal({"depot_id": "d1", "shifts": [SHIFT, late]})
    assert refused.field == "shifts.1.end"
    assert refused.message == "shifts.1.end: after the start"
    assert _refusal({"depot_id": "d1", "shifts": [late]}, prefix="data.").field == (
        "data.shifts.0.end"
    )


@pytest.mark.parametrize(
    ("shift", "field"),
    [
        ({"start": "9999-12-31T08:00:00+00:00", "end": "9999-12-31T18:00:00+00:00"}, "start"),
        ({"start": "1970-01-01T08:00:00+00:00", "end": SHIFT["end"]}, "start"),
        ({"start": "2030-01-01T08:00:00", "end": SHIFT["end"]}, "start"),  # naive
    ],
)
def test_times_are_aware_and_within_the_years_the_domain_handles(
    shift: dict[str, str], field: str
) -> None:
    assert _refusal({"depot_id": "d1", "shifts": [shift]}).field == f"shifts.0.{field}"


@pytest.mark.parametrize("depot_id", ["ü" * 40, "a" * 65, "a/b", "", "dep\x00"])
def test_ids_are_short_ascii_keys(depot_id: str) -> None:
    assert _refusal({"depot_id": depot_id, "shifts": []}).field == "depot_id"


# A small app: the refusals below are Chalice's own, shaped by the middleware.
app = Chalice(app_name="bodies")
app.register_middleware(uniform_errors, "http")


@route(app, "/things/{thing_id}", methods=["PUT"])
def put_thing(thing_id: str) -> Any:
    return {"depot_id": parse_body(app.current_request, _Fleet).depot_id}


def _over_its_rate(kind: str) -> Exception:
    """What the SDK raises once its own retries are spent, bare or as PynamoDB wraps it."""
    refused = ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
        "PutItem",
    )
    if kind == "sdk":
        return refused
    return PutError("Failed to put item", cause=refused)


@route(app, "/throttled/{kind}", methods=["GET"])
def throttled_write(kind: str) -> Any:
    raise _over_its_rate(kind)


@app.route("/broken", methods=["GET"])
def broken() -> Any:
    raise RuntimeError("a bug")


def _error(response: Any) -> dict[str, Any]:
    assert response.headers["Content-Type"] == "application/json"
    body = json.loads(response.body)
    assert set(body) == {"error"} and set(body["error"]) >= {"code", "message"}, body
    return dict(body["error"])


def test_an_empty_put_is_400_and_a_long_path_id_404() -> None:
    with Client(app) as client:
        empty = client.http.put("/things/t1", headers={"Content-Type": "application/json"})
        assert empty.status_code == 400 and _error(empty)["code"] == "malformed_body"
        long_id = client.http.put("/things/" + "x" * 257, body=b'{"depot_id": "d", "shifts": []}')
        assert long_id.status_code == 404 and _error(long_id)["field"] == "thing_id"


@pytest.mark.parametrize("kind", ["sdk", "pynamodb"])
def test_a_write_throttled_past_the_sdks_retries_is_503_with_retry_after(kind: str) -> None:
    with Client(app) as client:
        answer = client.http.get(f"/throttled/{kind}")
    assert answer.status_code == 503
    assert _error(answer)["code"] == "service_busy"
    assert answer.headers["Retry-After"] == "1"


def test_chalices_own_refusals_come_in_the_error_shape() -> None:
    with Client(app) as client:
        wrong_method = client.http.get("/things/t1")
        assert wrong_method.status_code == 405
        assert _error(wrong_method)["code"] == "method_not_allowed"
        assert wrong_method.headers["Allow"] == "PUT"
        wrong_type = client.http.put(
            "/things/t1", headers={"Content-Type": "text/plain"}, body=b"{}"
        )
        assert wrong_type.status_code == 415
        assert _error(wrong_type)["code"] == "unsupported_media_type"
        bug = client.http.get("/broken")
        assert bug.status_code == 500
        error = _error(bug)
        assert error["code"] == "internal_error" and "a bug" not in error["message"]
