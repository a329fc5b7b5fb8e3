"""What importing the API's entry module pulls in, checked on a fresh interpreter (a cold
start): the optimiser's engines never, the vendor SDKs only where a route uses them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Only the optimiser's package (the optimiser and the label renderer functions) and the lake's
# exporter (duckdb) import these; they are not even in the API's package.
OPTIMISER_ONLY = ("ortools", "numpy", "pyvrp", "reportlab", "PIL", "duckdb")
# Imported by the few routes and handlers that use them, when they first run.
LAZY_VENDORS = (
    "stripe",
    "sendgrid",
    "python_http_client",
    "segno",
    "jinja2",
    "pygal",
    "phonenumbers",
    "cryptography",
)


def _modules_after_import_app(stage: str) -> set[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LASTMILE_")}
    env["LASTMILE_STAGE"] = stage
    out = subprocess.run(
        [sys.executable, "-c", "import json, sys, app; print(json.dumps(sorted(sys.modules)))"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {name.partition(".")[0] for name in json.loads(out.splitlines()[-1])}


def test_importing_app_imports_no_optimiser_engine_and_no_lazy_vendor() -> None:
    loaded = _modules_after_import_app("prod")
    assert "chalicelib" in loaded  # the probe did import the app
    assert sorted(loaded.intersection(OPTIMISER_ONLY + LAZY_VENDORS)) == []
