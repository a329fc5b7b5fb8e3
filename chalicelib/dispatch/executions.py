"""Starting the dispatch state machine (Step Functions), the execution named by the run id."""

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
