"""The CDK app: one stack per stage, `lastmile-dev` and `lastmile-prod` (`-c stage=` picks one).

Synthesise with scripts/synth; deploy a stage with
`npx --prefix infra cdk deploy dev --parameters dev:AdminKeySha256=<hex> ...` from infra/.

`-c lastmile:skipBundling=true` skips building the optimiser's package (pip, ortools): for
synths that only read the templates (scripts/synth, tests/infra). See stacks/optimiser.py.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import aws_cdk as cdk
from stacks.lastmile import LastmileStack

STAGES = ("dev", "prod")
SKIP_BUNDLING = "lastmile:skipBundling"
BUNDLING_STACKS = "aws:cdk:bundling-stacks"  # cx-api's BUNDLING_STACKS


def main() -> None:
    # `chalice package` asks botocore for a region only to pick the service principals' DNS
    # suffix; the stacks stay environment-agnostic, so any commercial region does.
    os.environ.setdefault("AWS_DEFAULT_REGION", os.environ.get("CDK_DEFAULT_REGION") or "us-east-1")
    # The Chalice construct writes a fresh package into ./chalice.out on every synth and never
    # removes the old ones; only this synth's are needed.
    shutil.rmtree(Path.cwd() / "chalice.out", ignore_errors=True)

    app = cdk.App()
    if str(app.node.try_get_context(SKIP_BUNDLING)).lower() == "true":
        # CDK's own switch (the CLI sets it to [] for commands that need no assets); the CLI
        # overrides it for `synth`, hence this key of ours. Before any stack: context is fixed
        # once the tree has children.
        app.node.set_context(BUNDLING_STACKS, [])
    chosen = app.node.try_get_context("stage")
    if chosen and chosen not in STAGES:
        raise SystemExit(f"unknown stage {chosen!r}; expected one of {', '.join(STAGES)}")
    for stage in [chosen] if chosen else STAGES:
        LastmileStack(app, stage, description=f"lastmile ({stage}): API, tables, dispatch, alarms")
    app.synth()


if __name__ == "__main__":
    main()
