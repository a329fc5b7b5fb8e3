"""The label renderer Lambda function (chalicelib/labels/renderer.py): the optimiser's package,
so reportlab and Pillow stay out of the API's, with a handler of its own."""

from __future__ import annotations

from chalicelib.labels.function import (
    RENDERER,
    RENDERER_HANDLER,
    RENDERER_MEMORY_MB,
    RENDERER_TIMEOUT_S,
)

from .packaged_function import FunctionSpec

ENV_VAR = "LASTMILE_LABEL_RENDERER_FUNCTION"

LABELS = FunctionSpec(
    name=RENDERER,
    handler=RENDERER_HANDLER,
    memory_mb=RENDERER_MEMORY_MB,
    timeout_s=RENDERER_TIMEOUT_S,
    description="lastmile parcel labels: a sheet of label faces drawn as a PDF",
    service="lastmile-labels",
    env_var=ENV_VAR,
    construct_id="Renderer",
    logical_id="LabelRenderer",
)
