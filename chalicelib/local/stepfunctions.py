"""Runs our real ASL state machines locally: moto's interpreter executes them, each Lambda Task
calls one of our Python handlers (in-process, or in a spawned process), and nothing sleeps.

    sfn = LocalStepFunctions(aws.endpoint, aws.port)
    sfn.register(name, handler | "package.module:function", timeout_s=30, isolated=False) -> ARN
    sfn.deploy(name, asl_path, {"Placeholder": value}) -> state machine ARN
    sfn.start(state_machine_arn, execution_name, input) -> execution ARN
    sfn.wait(execution_arn, timeout_s=120) -> describe_execution, once no longer RUNNING
    sfn.sleeps  # seconds that Retry backoffs and Wait states asked for (and did not sleep)
    sfn.close()  # shuts the process pool down and undoes the patches

The patches on moto are process-global: the instance created last receives every invocation
and sleep, and a function it has not registered gets moto's own (echo) behaviour. StopExecution
is made to behave as in AWS: the execution is ABORTED at once, and what its running task
answers later changes nothing (moto would leave it RUNNING until the task returns, then FAILED).
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import json
import logging
import math
import multiprocessing
import os
import re
import threading
import time
import traceback
import uuid
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from concurrent.futures import CancelledError, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3

from chalicelib.local.aws import REGION

ROLE_ARN = "arn:aws:iam::123456789012:role/lambda"

_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


class UnresolvedPlaceholder(ValueError):
    """An ASL file still holds a `${Name}` after substitution: a deployment would fail too."""


@dataclass(frozen=True)
class LambdaContext:
    """The parts of the Lambda context object our handlers use. Picklable, for isolated runs."""

    function_name: str
    invoked_function_arn: str
    aws_request_id: str
    deadline: float  # epoch seconds: time.monotonic() does not cross processes
    memory_limit_in_mb: int = 1024

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.time()) * 1000))


Handler = Callable[[dict[str, Any], LambdaContext], Any]


@dataclass(frozen=True)
class _Function:
    arn: str
    target: Handler | str  # a callable, or "package.module:function" for isolated ones
    timeout_s: float
    isolated: bool


# (failed, JSON payload): the answer of one invocation, as the Lambda runtime would serialise it.
_Outcome = tuple[bool, str]


def _error(error_type: str, message: str, stack: list[str] | None = None) -> _Outcome:
    return True, json.dumps(
        {"errorMessage": message, "errorType": error_type, "stackTrace": stack or []}
    )


def _run(handler: Handler, event: dict[str, Any], context: LambdaContext) -> _Outcome:
    """Call a handler the way the Python Lambda runtime does: an exception becomes a function
    error whose errorType is the class name, which is what ASL Retry/Catch ErrorEquals match."""
    try:
        result = handler(event, context)
    except SystemExit as exc:
        return _error("Runtime.ExitError", f"Runtime exited with error: exit status {exc.code}")
    except Exception as exc:  # noqa: BLE001 - the runtime reports any exception as a function error
        # As in AWS, the stack trace starts at the handler: this frame is left out.
        stack = traceback.format_tb(exc.__traceback__.tb_next if exc.__traceback__ else None)
        return _error(type(exc).__name__, str(exc), stack)
    try:
        return False, json.dumps(result)
    except (TypeError, ValueError) as exc:
        return _error("Runtime.MarshalError", f"Unable to marshal response: {exc}")


def _resolve(target: str) -> Handler:
    module, _, function = target.partition(":")
    handler: Handler = getattr(importlib.import_module(module), function)
    return handler


def _run_isolated(target: str, event: dict[str, Any], context: LambdaContext) -> _Outcome:
    """The child-process side of an isolated invocation. Errors come back as data, so an
    exception class that cannot be pickled still reaches the state machine by name."""
    try:
        handler = _resolve(target)
    except (ImportError, AttributeError) as exc:
        return _error("Runtime.ImportModuleError", f"Unable to import module '{target}': {exc}")
    return _run(handler, event, context)


def substitute(text: str, substitutions: Mapping[str, str]) -> str:
    """CloudFormation DefinitionSubstitutions: every `${Name}` replaced, none may remain."""
    result = _PLACEHOLDER.sub(lambda m: substitutions.get(m.group(1), m.group(0)), text)
    left = sorted(set(_PLACEHOLDER.findall(result)))
    if left:
        raise UnresolvedPlaceholder(
            f"no substitution for {', '.join('${' + n + '}' for n in left)}"
        )
    return result


_active: LocalStepFunctions | None = None
_originals: dict[tuple[object, str], Any] = {}
_patch_lock = threading.Lock()


def _backend_classes() -> list[type[Any]]:
    # get_backend() picks LambdaSimpleBackend when use_docker is False (our MOTO_CONFIG) and the
    # docker-backed LambdaBackend otherwise; the simple one overrides invoke, so patch both.
    from moto.awslambda.models import LambdaBackend
    from moto.awslambda_simple.models import LambdaSimpleBackend

    return [LambdaBackend, LambdaSimpleBackend]


def _install(instance: LocalStepFunctions) -> None:
    global _active
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function import wait_function
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.backend.execution import Execution

    with _patch_lock:
        _active = instance
        if _originals:
            return
        for cls in _backend_classes():
            original = cls.__dict__["invoke"]
            _originals[(cls, "invoke")] = original
            cls.invoke = _patched_invoke(original)
        # The retrier calls time.sleep(interval) on the `time` module it imported: give it a
        # stand-in whose sleep only records. Nothing else in that module uses `time`.
        _originals[(retrier_decl, "time")] = retrier_decl.time
        retrier_decl.time = SimpleNamespace(sleep=_record_sleep)  # type: ignore[assignment]
        # A Wait state waits in WaitFunction._wait_interval (on an Event, to be stoppable).
        wait = wait_function.WaitFunction
        _originals[(wait, "_wait_interval")] = wait.__dict__["_wait_interval"]
        wait._wait_interval = _skip_wait  # type: ignore[method-assign,assignment]
        for cls, attr, patched in (
            (Execution, "stop", _aborted_at_once),
            (Environment, "set_error", _unless_stopped),
            (Environment, "set_timed_out", _unless_stopped),
        ):
            original = cls.__dict__[attr]
            _originals[(cls, attr)] = original
            setattr(cls, attr, patched(original))


def _uninstall(instance: LocalStepFunctions) -> None:
    global _active
    with _patch_lock:
        if _active is not instance:
            return
        _active = None
        for (owner, attr), original in _originals.items():
            setattr(owner, attr, original)
        _originals.clear()


def _aborted_at_once(original: Callable[..., Any]) -> Callable[..., Any]:
    """StopExecution: the program is told to stop, and the execution reads ABORTED now."""

    def stop(execution: Any, stop_date: Any, error: Any, cause: Any) -> None:
        from moto.stepfunctions.parser.api import ExecutionStatus

        original(execution, stop_date, error, cause)
        if execution.exec_status == ExecutionStatus.RUNNING:
            execution.exec_status = ExecutionStatus.ABORTED
            execution.stop_date = stop_date

    return stop


def _unless_stopped(original: Callable[..., Any]) -> Callable[..., Any]:
    """A stopped program stays stopped: the error its interrupted task raises afterwards (or
    the interpreter's own, failing to go on from a stopped state) is not its outcome."""

    def set_state(env: Any, *args: Any, **kwargs: Any) -> None:
        from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped

        if isinstance(env._program_state, ProgramStopped):
            return
        original(env, *args, **kwargs)

    return set_state


def active_runner() -> LocalStepFunctions:
    """The instance receiving this process's invocations (the local runtime's workflow)."""
    if _active is None:
        raise RuntimeError("no local Step Functions is running in this process")
    return _active


def _skip_wait(waiter: object, env: object, wait_seconds: int) -> None:
    _record_sleep(wait_seconds)


def _record_sleep(seconds: float) -> None:
    active = _active
    if active is not None:
        active.sleeps.append(seconds)


def _patched_invoke(original: Callable[..., Any]) -> Callable[..., Any]:
    def invoke(
        backend: Any,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: dict[str, str],
    ) -> Any:
        active = _active
        fn = active._lookup(function_name) if active else None
        if active is None or fn is None:
            return original(backend, function_name, qualifier, body, headers, response_headers)
        backend.get_function(function_name, qualifier)  # unknown function: 404, as in AWS
        event = json.loads(body or b"{}")
        failed, payload = active._invoke(fn, event)
        if failed:
            # What the Lambda API answers for an error raised by the function (HTTP 200).
            response_headers["x-amz-function-error"] = "Unhandled"
        return payload.encode()

    return invoke


def _ensure_role(iam: Any) -> None:
    # moto's CreateFunction refuses a role that IAM does not know, as AWS does.
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    try:
        iam.create_role(
            RoleName=ROLE_ARN.rsplit("/", 1)[1], AssumeRolePolicyDocument=json.dumps(trust)
        )
    except iam.exceptions.EntityAlreadyExistsException:
        pass


def _zip() -> bytes:
    # create_function needs some code; what runs is our handler, never this.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("lambda_function.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


class LocalStepFunctions:
    """Lambda functions backed by our handlers, and state machines that call them, in moto."""

    def __init__(self, endpoint_url: str, port: int, *, max_workers: int = 2) -> None:
        # moto's interpreter calls Lambda over HTTP at localhost:$MOTO_PORT (default 5000).
        os.environ["MOTO_PORT"] = str(port)
        logging.getLogger("moto.stepfunctions.parser").setLevel(logging.WARNING)
        self.sleeps: list[float] = []
        # Invocations of each registered function and the seconds they took (for benchmarks).
        self.invocations: Counter[str] = Counter()
        self.busy_s: defaultdict[str, float] = defaultdict(float)
        self._functions: dict[str, _Function] = {}
        self._max_workers = max_workers
        self._pool: ProcessPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._lambda = boto3.client("lambda", endpoint_url=endpoint_url, region_name=REGION)
        self._sfn = boto3.client("stepfunctions", endpoint_url=endpoint_url, region_name=REGION)
        _ensure_role(boto3.client("iam", endpoint_url=endpoint_url, region_name=REGION))
        _install(self)

    def __enter__(self) -> LocalStepFunctions:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def register(
        self,
        name: str,
        handler: Handler | str,
        *,
        timeout_s: float = 30,
        isolated: bool = False,
    ) -> str:
        """Create the Lambda function `name` in moto, backed by `handler`; returns its ARN.
        `isolated` runs it in a spawned process (handler must then be an import path); its
        timeout counts from submission, so a cold start (spawning the worker, about half a
        second) and waiting for a free worker (max_workers) count against it."""
        if isinstance(handler, str):
            module, _, function = handler.partition(":")
            if not function or importlib.util.find_spec(module) is None:
                raise ValueError(f"handler {handler!r} is not 'package.module:function'")
            if not isolated:
                handler = _resolve(handler)
        elif isolated:
            raise ValueError(
                "an isolated handler must be an import path, 'package.module:function'"
            )
        config = {"Timeout": max(1, math.ceil(timeout_s))}
        try:
            arn: str = self._lambda.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=ROLE_ARN,
                Handler="lambda_function.handler",
                Code={"ZipFile": _zip()},
                **config,
            )["FunctionArn"]
        except self._lambda.exceptions.ResourceConflictException:
            # Already created on this moto server (by an earlier instance): rebind it.
            arn = self._lambda.update_function_configuration(FunctionName=name, **config)[
                "FunctionArn"
            ]
        self._functions[name] = _Function(arn, handler, timeout_s, isolated)
        return arn

    def deploy(self, name: str, asl_path: Path, substitutions: Mapping[str, str]) -> str:
        """Create a state machine from an ASL file with `${Name}` substituted; returns its ARN."""
        definition = substitute(asl_path.read_text(), substitutions)
        json.loads(definition)  # a substituted value that broke the JSON fails here, not later
        arn: str = self._sfn.create_state_machine(
            name=name, definition=definition, roleArn=ROLE_ARN
        )["stateMachineArn"]
        return arn

    def start(self, state_machine_arn: str, name: str, input: dict[str, Any]) -> str:
        arn: str = self._sfn.start_execution(
            stateMachineArn=state_machine_arn, name=name, input=json.dumps(input)
        )["executionArn"]
        return arn

    def wait(self, execution_arn: str, timeout_s: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            execution: dict[str, Any] = self._sfn.describe_execution(executionArn=execution_arn)
            if execution["status"] != "RUNNING":
                return execution
            if time.monotonic() > deadline:
                raise TimeoutError(f"{execution_arn} still RUNNING after {timeout_s} s")
            time.sleep(0.02)

    def close(self) -> None:
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            _stop(pool)
        _uninstall(self)

    def _lookup(self, name_or_arn: str) -> _Function | None:
        # FunctionName may be a name, a full ARN or a qualified ARN (...:function:name:alias).
        parts = name_or_arn.split(":")
        name = parts[6] if len(parts) >= 7 and parts[5] == "function" else name_or_arn
        return self._functions.get(name)

    def _invoke(self, fn: _Function, event: dict[str, Any]) -> _Outcome:
        """One invocation of a registered function, bounded by its timeout."""
        started = time.monotonic()
        try:
            return self._invoke_bounded(fn, event)
        finally:
            name = fn.arn.split(":")[6]
            self.invocations[name] += 1
            self.busy_s[name] += time.monotonic() - started

    def _invoke_bounded(self, fn: _Function, event: dict[str, Any]) -> _Outcome:
        context = LambdaContext(
            function_name=fn.arn.split(":")[6],
            invoked_function_arn=fn.arn,
            aws_request_id=str(uuid.uuid4()),
            deadline=time.time() + fn.timeout_s,
        )
        if fn.isolated:
            assert isinstance(fn.target, str)
            return self._invoke_isolated(fn.target, event, context, fn.timeout_s)
        assert callable(fn.target)
        return _invoke_in_thread(fn.target, event, context, fn.timeout_s)

    def _invoke_isolated(
        self, target: str, event: dict[str, Any], context: LambdaContext, timeout_s: float
    ) -> _Outcome:
        deadline = time.monotonic() + timeout_s
        while (remaining := deadline - time.monotonic()) > 0:
            with self._pool_lock:
                if self._pool is None:
                    # spawn: the optimiser forks its own workers, and forking this
                    # multi-threaded process could copy a held lock into the child.
                    self._pool = ProcessPoolExecutor(
                        self._max_workers, mp_context=multiprocessing.get_context("spawn")
                    )
                pool = self._pool
                future = pool.submit(_run_isolated, target, event, context)
            try:
                outcome: _Outcome = future.result(timeout=remaining)
                return outcome
            except FutureTimeout:
                # Still queued (all workers busy): drop it. Started (or handed to a worker):
                # the worker is stuck in it, and the only way to stop it is to end the pool,
                # which fails the other calls in flight there with Runtime.ExitError.
                if not future.cancel():
                    self._recycle(pool)
                break
            except CancelledError:
                continue  # cancelled unstarted when another call's timeout ended the pool
            except BrokenProcessPool:
                # Its worker died: killed by another call's timeout, or it crashed itself.
                self._recycle(pool)
                return _error("Runtime.ExitError", "Runtime exited without providing a reason")
        return _timed_out(timeout_s)

    def _recycle(self, pool: ProcessPoolExecutor) -> None:
        with self._pool_lock:
            if self._pool is pool:
                self._pool = None
        _stop(pool)


def _stop(pool: ProcessPoolExecutor) -> None:
    # A stuck worker never returns, so ending the pool means terminating its processes; the
    # list is taken first because shutdown() drops it.
    processes = list((pool._processes or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()


def _timed_out(timeout_s: float) -> _Outcome:
    return _error("Sandbox.Timedout", f"Task timed out after {timeout_s:.2f} seconds")


def _invoke_in_thread(
    handler: Handler, event: dict[str, Any], context: LambdaContext, timeout_s: float
) -> _Outcome:
    """Run the handler in a thread of its own and stop waiting at the timeout. A thread cannot
    be killed: a timed-out handler keeps running until it returns on its own (a daemon thread,
    so it never holds up exit), and whatever it does then is ignored."""
    done = threading.Event()
    outcome: list[_Outcome] = []

    def run() -> None:
        outcome.append(_run(handler, event, context))
        done.set()

    threading.Thread(target=run, name=f"lambda-{context.function_name}", daemon=True).start()
    if not done.wait(timeout_s):
        return _timed_out(timeout_s)
    return outcome[0]
