"""The label renderer as the API reaches it: bootstrap's Lambda adapter, over HTTP to moto's
Lambda, the function registered by the local runtime's wiring and run in its own process (the
real drawing), and what a failing or timed-out function becomes (UpstreamFailed, the API's 502)."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any

import pypdfium2
import pytest

from chalicelib import bootstrap
from chalicelib.domain.errors import UpstreamFailed
from chalicelib.labels.faces import LabelFace
from chalicelib.labels.function import RENDERER
from chalicelib.local.aws import EmbeddedAws
from chalicelib.local.label_renderer import deploy_label_renderer
from chalicelib.local.stepfunctions import LocalStepFunctions

FACES = [
    LabelFace("LMABCDEFGHIJKLMNOP", n, 3, "TRK7Q2ZK", "Southwark depot", "Ada Lovelace", ("GB",))
    for n in (1, 2, 3)
]


@pytest.fixture
def runner(aws: EmbeddedAws, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalStepFunctions]:
    monkeypatch.setenv("LASTMILE_LABEL_RENDERER_FUNCTION", "")  # restored after the test
    with LocalStepFunctions(aws.endpoint, aws.port) as local:
        deploy_label_renderer(local)
        yield local
    bootstrap.reset()


def test_the_api_side_adapter_gets_the_pdf_the_function_drew(runner: LocalStepFunctions) -> None:
    pdf = bootstrap.label_renderer().render(FACES)

    document = pypdfium2.PdfDocument(io.BytesIO(pdf))
    assert len(document) == 3
    assert "parcel 2 of 3" in document[1].get_textpage().get_text_bounded()
    assert runner.invocations[RENDERER] == 1, "drawn by the function, not in this process"


def test_a_function_that_fails_or_times_out_is_upstream_failed(runner: LocalStepFunctions) -> None:
    def crashing(event: dict[str, Any], context: Any) -> Any:
        raise RuntimeError("the renderer ran out of fonts")

    def stuck(event: dict[str, Any], context: Any) -> Any:
        time.sleep(3)
        return {"pdf": ""}

    for handler in (crashing, stuck):
        runner.register(RENDERER, handler, timeout_s=1)
        with pytest.raises(UpstreamFailed) as raised:
            bootstrap.label_renderer().render(FACES)
        assert "fonts" not in raised.value.message
