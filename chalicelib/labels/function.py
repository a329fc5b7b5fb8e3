"""The label renderer Lambda function as it is deployed (infra/stacks/labels.py) and run by the
local runtime: its name, handler, timeout and memory. Imports nothing, so the API's side reads
it without the drawing code."""

from __future__ import annotations

RENDERER = "render_labels"  # deployed as lastmile-<stage>-render_labels
RENDERER_HANDLER = "chalicelib.labels.renderer.handler"
# 500 labels (sheets.MAX_LABELS) took 12 s here on a shared, loaded core; under API Gateway's
# 29 s with the API's own work, and the SDK's read waits it out (bootstrap.label_renderer).
RENDERER_TIMEOUT_S = 25
RENDERER_MEMORY_MB = 1769  # one whole vCPU: reportlab draws on one thread
