"""The optimiser Lambda function: chalicelib/ and ortools in a package of its own (which the
label renderer function runs too, stacks/labels.py).

Bundling, and how tests avoid it
--------------------------------
The package is built at synth by `optimiser_bundle.py`: locally (pip installs the wheels for
Lambda's platform, so any host with network to PyPI will do), else in the Lambda build image
with Docker. `cdk deploy` (and a plain `cdk synth`) bundles.

The test synth (tests/infra) and scripts/synth (CI's lint) skip it with CDK's own switch, the
context `aws:cdk:bundling-stacks` = [] (what the CLI sets for commands that need no assets):
the CLI overrides that key for `synth`, so infra/app.py sets it when asked with
`-c lastmile:skipBundling=true`. The template is the same either way: the asset's hash is
taken from its sources (chalicelib/, requirements-optimiser.lock) and the bundling options,
never from the output, so what the tests read is what a deploy deploys. Only the assembly of
a skipped synth points the asset at the source tree: never deploy from that assembly.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import BundlingOptions, Duration, ILocalBundling, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from chalicelib.dispatch import workflow

from . import optimiser_bundle

log = logging.getLogger(__name__)

# The asset's source is the repo; only these count towards its hash (and so decide when a new
# package is built and uploaded). Glob patterns, the last match wins.
_SOURCES = [
    "*",
    ".*",
    f"!{optimiser_bundle.PACKAGE}",
    f"!{optimiser_bundle.PACKAGE}/**",
    f"!{optimiser_bundle.REQUIREMENTS}",
    f"!{optimiser_bundle.LOCK}",
    "__pycache__",
    "*.pyc",
]
_BUNDLE_SCRIPT = Path(optimiser_bundle.__file__)
RUNTIME = lambda_.Runtime.PYTHON_3_12


@jsii.implements(ILocalBundling)
class _LocalBundling:
    def __init__(self, repo: Path) -> None:
        self._repo = repo

    def try_bundle(self, output_dir: str, options: Any = None, **_: Any) -> bool:
        try:
            size = optimiser_bundle.bundle(self._repo, Path(output_dir))
        except (OSError, subprocess.CalledProcessError) as exc:
            # No pip, no network...: the build image may still do it. A BundleError (the
            # requirements are not closed, the package too big) would fail there too: it
            # propagates and stops the synth.
            log.warning("local bundling of the optimiser failed (%s); trying Docker", exc)
            return False
        log.info("optimiser package: %d MiB unzipped", size // 2**20)
        return True


def optimiser_package(repo: Path) -> lambda_.Code:
    """The package (chalicelib/ and requirements-optimiser.lock) as one asset of a stack: the
    optimiser's and the label renderer's functions both run it (stacks/labels.py)."""
    script = _BUNDLE_SCRIPT.relative_to(repo).as_posix()
    return lambda_.Code.from_asset(
        str(repo),
        exclude=_SOURCES,
        bundling=BundlingOptions(
            local=_LocalBundling(repo),
            image=RUNTIME.bundling_image,
            platform="linux/amd64",
            command=["python3", f"/asset-input/{script}", "/asset-input", "/asset-output"],
            # A throwaway container, run as the host's user (no writable home): no pip cache.
            environment={"PIP_NO_CACHE_DIR": "1"},
        ),
    )


def optimiser_function(
    scope: Construct,
    id: str,
    *,
    code: lambda_.Code,
    function_name: str,
    environment: dict[str, str],
    log_removal: RemovalPolicy,
) -> lambda_.Function:
    return lambda_.Function(
        scope,
        id,
        function_name=function_name,
        description="lastmile dispatch optimiser: one part of a run's routing problem",
        runtime=RUNTIME,
        architecture=lambda_.Architecture.X86_64,
        handler=workflow.OPTIMISER_HANDLER,
        code=code,
        memory_size=workflow.OPTIMISER_MEMORY_MB,
        timeout=Duration.seconds(workflow.OPTIMISER_TIMEOUT_S),
        tracing=lambda_.Tracing.ACTIVE,
        environment=environment,
        # Named after the function, whose name is fixed: a log group retained by a deleted
        # stack would stop a new one of the same stage.
        log_group=logs.LogGroup(
            scope,
            f"{id}Logs",
            log_group_name=f"/aws/lambda/{function_name}",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=log_removal,
        ),
    )
