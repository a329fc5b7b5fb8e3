"""The label renderer function and the API's adapter around it: a sheet's JSON in, the PDF
parsed back out; what Lambda refuses or the function fails with, as the domain errors the API
answers 503 and 502 (never a bare 500), with a stateful fake Lambda client, no network."""

from __future__ import annotations

import base64
import json

import pytest

from chalicelib.domain.errors import PayloadTooLarge, ServiceBusy, UpstreamFailed
from chalicelib.labels import renderer
from chalicelib.labels.faces import LabelFace, sheet_from_json, sheet_to_json
from chalicelib.labels.lambda_renderer import LambdaLabelRenderer
from tests.unit.labels.lambda_fake import FakeLambda
from tests.unit.labels.test_label_sheets import pages

FACES = [
    LabelFace(
        label=f"LMABCDEFGHIJKLMN{n}{n}",
        parcel_no=n,
        parcels=2,
        tracking_code="TRK7Q2ZK",
        depot="Southwark depot",
        name="Ada Lovelace",
        address_lines=("1 Tower Bridge Rd", "London SE1 2UP", "GB"),
        route="van-7" if n == 1 else None,
        stop_no=3 if n == 1 else None,
        weight_kg=1.5 if n == 1 else None,
    )
    for n in (1, 2)
]


def test_the_handler_draws_a_sheet_sent_as_json_and_answers_json() -> None:
    event = json.loads(json.dumps(sheet_to_json(FACES)))  # what crosses the wire

    answer = json.loads(json.dumps(renderer.handler(event, None)))

    pdf = base64.b64decode(answer["pdf"], validate=True)
    assert answer["bytes"] == len(pdf)
    read = pages(pdf)
    assert len(read) == 2
    (first, first_codes), (second, second_codes) = read
    assert "van-7 · stop 3" in first and "1.5 kg" in first and "parcel 1 of 2" in first
    assert "not yet planned" in second and "parcel 2 of 2" in second
    assert "Ada Lovelace" in second and "SE1 2UP" in second and "TRK7Q2ZK" in second
    assert first_codes == [("Code128", FACES[0].label), ("QRCode", FACES[0].label)]
    assert second_codes == [("Code128", FACES[1].label), ("QRCode", FACES[1].label)]


def test_a_sheet_round_trips_through_its_json_exactly() -> None:
    assert sheet_from_json(json.loads(json.dumps(sheet_to_json(FACES)))) == FACES


@pytest.mark.parametrize(
    ("face", "named"),
    [
        ({"parcel_no": "1"}, "faces[0].parcel_no"),
        ({"address_lines": "1 Tower Bridge Rd"}, "faces[0].address_lines"),
        ({"weight_kg": True}, "faces[0].weight_kg"),
        ({"colour": "red"}, "faces[0].colour"),
        ({"label": None}, "faces[0].label"),
    ],
)
def test_a_malformed_sheet_is_refused_naming_the_field(face: dict[str, object], named: str) -> None:
    [good] = sheet_to_json(FACES[:1])["faces"]
    with pytest.raises(ValueError, match=named.replace("[", r"\[").replace("]", r"\]")):
        renderer.handler({"faces": [{**good, **face}]}, None)
    with pytest.raises(ValueError, match="faces"):
        renderer.handler({"pages": []}, None)


def test_the_adapter_invokes_the_function_synchronously_and_decodes_its_pdf() -> None:
    fake = FakeLambda()
    pdf = LambdaLabelRenderer(fake, fake.function_name).render(FACES)
    assert len(pages(pdf)) == 2
    [call] = fake.calls
    assert call["function"] == fake.function_name and call["type"] == "RequestResponse"
    assert call["event"] == sheet_to_json(FACES)


def test_lambda_throttling_is_service_busy() -> None:
    fake = FakeLambda()
    fake.refusals = ["TooManyRequestsException"]
    adapter = LambdaLabelRenderer(fake, fake.function_name)
    with pytest.raises(ServiceBusy) as raised:
        adapter.render(FACES)
    assert raised.value.code == "service_busy" and raised.value.retry_after == 1
    assert len(pages(adapter.render(FACES))) == 2, "once Lambda takes calls again, it draws"


def test_the_function_failing_is_upstream_failed_and_its_report_stays_inside(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def out_of_memory(faces: object) -> bytes:
        raise MemoryError("secret detail of the function")

    monkeypatch.setattr(renderer, "render", out_of_memory)
    fake = FakeLambda()
    with pytest.raises(UpstreamFailed) as raised:
        LambdaLabelRenderer(fake, fake.function_name).render(FACES)
    assert raised.value.code == "upstream_failed"
    assert "secret" not in raised.value.message


@pytest.mark.parametrize(
    "answer", [b"not json", b'{"pdf": "not base64!"}', b'{"pages": 2}', b'"a string"']
)
def test_an_answer_that_is_no_pdf_is_upstream_failed(answer: bytes) -> None:
    fake = FakeLambda()
    fake.answer = answer
    with pytest.raises(UpstreamFailed):
        LambdaLabelRenderer(fake, fake.function_name).render(FACES)


def test_lambda_refusing_or_unreachable_is_upstream_failed() -> None:
    fake = FakeLambda()
    with pytest.raises(UpstreamFailed):
        LambdaLabelRenderer(fake, "lastmile-test-no-such-function").render(FACES)
    fake.unreachable = True
    with pytest.raises(UpstreamFailed):
        LambdaLabelRenderer(fake, fake.function_name).render(FACES)
    calls = len(fake.calls)
    with pytest.raises(UpstreamFailed):
        LambdaLabelRenderer(fake, "").render(FACES)  # no function configured
    assert len(fake.calls) == calls, "nothing invoked without a function name"


def test_a_pdf_past_what_an_answer_holds_is_refused_by_the_function(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(renderer, "MAX_PDF_BYTES", 1000)
    fake = FakeLambda()
    with pytest.raises(PayloadTooLarge, match="route_id") as raised:
        LambdaLabelRenderer(fake, fake.function_name).render(FACES)
    assert raised.value.field == "route_id"
