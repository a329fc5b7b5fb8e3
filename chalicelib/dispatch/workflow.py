"""The dispatch state machine's definition file and the functions its placeholders name: one
table shared by the CDK app, the local runtime and the tests."""

from __future__ import annotations

from pathlib import Path

ASL_PATH = Path(__file__).resolve().parents[2] / "infra" / "statemachines" / "dispatch.asl.json"
STATE_MACHINE_NAME = "dispatch"  # deployed as lastmile-<stage>-dispatch

# ASL placeholder (CloudFormation DefinitionSubstitutions key) -> Lambda entry point in app.py.
FUNCTIONS = {
    "DispatchCollectFunctionArn": "dispatch_collect",
    "DispatchBuildFunctionArn": "dispatch_build",
    "OptimiserFunctionArn": "optimiser",
    "DispatchCommitFunctionArn": "dispatch_commit",
    "DispatchFinishFunctionArn": "dispatch_finish",
    "DispatchReleaseFunctionArn": "dispatch_release",
}

TICK = "dispatch_tick"  # target of the depots' EventBridge Scheduler schedules
REAPER = "dispatch_reaper"  # app.py's schedule that releases runs that died outside the Catch

# The definition's TimeoutSeconds (a test holds them equal): an execution still running past
# it plus a grace has overrun, and the reaper stops it.
EXECUTION_TIMEOUT_S = 3600

# The optimiser is deployed by the CDK app as its own function (ortools is too big to sit
# beside the API code); every other entry point is a Chalice lambda_function.
OPTIMISER = "optimiser"
OPTIMISER_HANDLER = "chalicelib.dispatch.optimiser.handler"
OPTIMISER_TIMEOUT_S = 900
OPTIMISER_MEMORY_MB = 3538  # two vCPUs: the planner runs two engines in parallel
SOLVER_TIME_LIMIT_S = 60  # default per part; a depot policy may ask for up to MAX
MAX_SOLVER_TIME_LIMIT_S = 600
