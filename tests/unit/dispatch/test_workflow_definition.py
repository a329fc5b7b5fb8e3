"""The dispatch state machine's definition: it parses, every function it names is an entry point
of app.py, and every error its Retry/Catch match is a real exception class (the names are
matched as strings at run time, so a renamed class would silently stop matching)."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Iterator
from typing import Any

import botocore.exceptions

import app
from chalicelib.dispatch.workflow import ASL_PATH, FUNCTIONS
from chalicelib.domain import errors as domain_errors
from chalicelib.routing import errors as routing_errors

# Names Step Functions and the Lambda service raise themselves (documented by AWS).
SERVICE_ERRORS = {
    "States.ALL",
    "States.Timeout",
    "States.TaskFailed",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.ClientExecutionTimeoutException",
    "Sandbox.Timedout",
}


def definition() -> dict[str, Any]:
    return dict(json.loads(ASL_PATH.read_text()))


def states(machine: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in machine["States"].items():
        yield name, state
        if "ItemProcessor" in state:
            yield from states(state["ItemProcessor"])


def our_exception_classes() -> dict[str, type[BaseException]]:
    found = {}
    for module in (domain_errors, routing_errors, botocore.exceptions):
        for name, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException):
                found[name] = obj
    return found


def test_the_definition_parses_and_every_state_leads_somewhere_real() -> None:
    machine = definition()
    names = {name for name, _ in states(machine)}
    assert machine["StartAt"] in names
    for name, state in states(machine):
        targets = [state.get("Next"), state.get("Default")]
        targets += [c["Next"] for c in state.get("Choices", []) + state.get("Catch", [])]
        for target in filter(None, targets):
            assert target in names, f"{name} goes to unknown state {target}"
        assert (
            state.get("End")
            or state["Type"] in ("Choice", "Fail", "Succeed")
            or (state.get("Next"))
        ), f"{name} neither ends nor goes on"


def test_every_placeholder_is_a_function_of_app_py() -> None:
    text = ASL_PATH.read_text()
    placeholders = set(re.findall(r"\$\{(\w+)\}", text))
    assert placeholders == set(FUNCTIONS)
    for function in FUNCTIONS.values():
        entry = getattr(app, function, None)
        assert callable(entry), f"app.py has no entry point {function}"


def test_every_task_catches_into_the_release_path() -> None:
    top = definition()["States"]
    for name, state in top.items():
        if state["Type"] in ("Task", "Map") and name != "Release":
            catch = state.get("Catch", [])
            assert any(
                "States.ALL" in c["ErrorEquals"] and c["Next"] == "Release" for c in catch
            ), f"{name} does not release the run's orders on failure"
    assert top["Release"]["Next"] == "Failed" and top["Failed"]["Type"] == "Fail"


def test_every_error_name_is_a_real_exception_class() -> None:
    classes = our_exception_classes()
    for name, state in states(definition()):
        for rule in state.get("Retry", []) + state.get("Catch", []):
            for error in rule["ErrorEquals"]:
                assert error in SERVICE_ERRORS or error in classes, (
                    f"{name} matches {error!r}, which is no exception class of ours"
                )
