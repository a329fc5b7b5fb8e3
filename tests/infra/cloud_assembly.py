"""Synthesises the CDK app the way the CDK CLI runs it, and reads what it wrote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

INFRA = Path(__file__).resolve().parents[2] / "infra"
STAGES = ("dev", "prod")  # as infra/app.py: a synth without a stage builds them all


@dataclass(frozen=True)
class CloudAssembly:
    outdir: Path

    def template(self, stage: str) -> dict[str, Any]:
        return json.loads((self.outdir / f"{stage}.template.json").read_text())

    def asset(self, key: str) -> Path:
        """The file behind an asset's S3 key in a template (what `cdk deploy` would upload)."""
        return self.outdir / f"asset.{key}"


def synthesise(outdir: Path) -> CloudAssembly:
    """Run infra/app.py with the venv's Python, as `cdk synth` would, without the Node CLI."""
    # What the CLI hands the app: the output dir and cdk.json's context (the feature flags),
    # and, as scripts/synth does, no optimiser package built (infra/stacks/optimiser.py).
    context = json.loads((INFRA / "cdk.json").read_text()).get("context", {})
    context["lastmile:skipBundling"] = "true"
    env = os.environ | {
        "CDK_OUTDIR": str(outdir),
        "CDK_CONTEXT_JSON": json.dumps(context),
        "AWS_DEFAULT_REGION": "eu-west-1",
    }
    # The Chalice construct packages into ./chalice.out, so run where that is disposable.
    done = subprocess.run(
        [sys.executable, str(INFRA / "app.py")],
        cwd=outdir.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"synth failed:\n{done.stdout}\n{done.stderr}")
    return CloudAssembly(outdir)
