"""The dispatch state machine's executions in Step Functions, each named by its run id:
starting one, asking how it stands, stopping one that overran."""

from __future__ import annotations

import json
from typing import Any


class StepFunctionsExecutions:
    def __init__(self, client: Any, state_machine_arn: str) -> None:
        self._client = client
        self._arn = state_machine_arn

    def start(self, name: str, payload: dict[str, Any]) -> None:
        if not self._arn:
            raise RuntimeError("LASTMILE_DISPATCH_STATE_MACHINE_ARN is not set")
        try:
            self._client.start_execution(
                stateMachineArn=self._arn, name=name, input=json.dumps(payload)
            )
        except self._client.exceptions.ExecutionAlreadyExists:
            pass  # a retried start of the same run: the execution is already under way

    def status(self, name: str) -> str | None:
        """RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED; None when there is no such
        execution (its start never reached Step Functions)."""
        try:
            found = self._client.describe_execution(executionArn=self._execution_arn(name))
        except self._client.exceptions.ExecutionDoesNotExist:
            return None
        return str(found["status"])

    def stop(self, name: str, cause: str) -> None:
        """Stop a running execution (it ends ABORTED); one already ended is left as it is."""
        try:
            self._client.stop_execution(
                executionArn=self._execution_arn(name), error="Reaped", cause=cause[:256]
            )
        except self._client.exceptions.ExecutionDoesNotExist:
            pass

    def _execution_arn(self, name: str) -> str:
        return self._arn.replace(":stateMachine:", ":execution:") + ":" + name
