"""The label renderer function on the local stand-in: registered in moto's Lambda, its handler
(labels/renderer.py) run in a process of its own as the optimiser's is, so the API reaches it
as in AWS, through the LabelRenderer port's Lambda adapter and moto's Invoke, JSON both ways."""

from __future__ import annotations

import os

from chalicelib import bootstrap
from chalicelib.labels.function import RENDERER, RENDERER_HANDLER, RENDERER_TIMEOUT_S
from chalicelib.local.stepfunctions import LocalStepFunctions


def deploy_label_renderer(runner: LocalStepFunctions) -> str:
    """Register the function with `runner` (whose patch on moto's Invoke runs it); its name is
    set as LASTMILE_LABEL_RENDERER_FUNCTION, where the API finds it. Returns its ARN."""
    module, _, attr = RENDERER_HANDLER.rpartition(".")
    arn = runner.register(RENDERER, f"{module}:{attr}", timeout_s=RENDERER_TIMEOUT_S, isolated=True)
    os.environ["LASTMILE_LABEL_RENDERER_FUNCTION"] = RENDERER
    bootstrap.reset()
    return arn
