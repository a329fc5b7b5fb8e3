"""The CDK app: one stack per stage, `lastmile-dev` and `lastmile-prod` (`-c stage=` picks one).

Synthesise with scripts/synth; deploy a stage with
`npx --prefix infra cdk deploy dev --parameters dev:AdminKeySha256=<hex> ...` from infra/.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import aws_cdk as cdk
from stacks.lastmile import LastmileStack

STAGES = ("dev", "prod")


def main() -> None:
    # `chalice package` asks botocore for a region only to pick the service principals' DNS
    # suffix; the stacks stay environment-agnostic, so any commercial region does.
    os.environ.setdefault("AWS_DEFAULT_REGION", os.environ.get("CDK_DEFAULT_REGION") or "us-east-1")
    # The Chalice construct writes a fresh package into ./chalice.out on every synth and never
    # removes the old ones; only this synth's are needed.
    shutil.rmtree(Path.cwd() / "chalice.out", ignore_errors=True)

    app = cdk.App()
    chosen = app.node.try_get_context("stage")
    if chosen and chosen not in STAGES:
        raise SystemExit(f"unknown stage {chosen!r}; expected one of {', '.join(STAGES)}")
    for stage in [chosen] if chosen else STAGES:
        LastmileStack(app, stage, description=f"lastmile ({stage}): API, tables, alarms")
    app.synth()


if __name__ == "__main__":
    main()
