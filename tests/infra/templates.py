"""Reading synthesised templates: resources by type, a role's statements, intrinsics evaluated."""

from __future__ import annotations

import re
from typing import Any

FUNCTION = "AWS::Serverless::Function"  # the Chalice app's functions
LAMBDA = "AWS::Lambda::Function"  # functions of the CDK app's own
LAYER = "AWS::Serverless::LayerVersion"

# Pseudo parameters as a deploy would resolve them, to evaluate ARNs built with Fn::Join.
PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": "eu-west-1",
    "AWS::AccountId": "123456789012",
    "AWS::URLSuffix": "amazonaws.com",
}


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def the_one(template: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    """The logical id and properties of the only resource of `kind`."""
    found = resources(template, kind)
    assert len(found) == 1, (kind, list(found))
    [(logical_id, resource)] = found.items()
    return logical_id, resource["Properties"]


def statements_for(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    """Every policy statement granted to `role`, inline or attached."""
    found = []
    for policy in resources(template, "AWS::IAM::Policy").values():
        if role in str(policy["Properties"]["Roles"]):
            found += policy["Properties"]["PolicyDocument"]["Statement"]
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def allows(statements: list[dict[str, Any]], action: str, resource: Any) -> bool:
    for statement in statements:
        actions = as_list(statement["Action"])
        targets = as_list(statement["Resource"])
        if statement["Effect"] == "Allow" and action in actions and resource in targets:
            return True
    return False


def evaluate(value: Any, pseudo: dict[str, str] = PSEUDO) -> str:
    """A string built from literals, pseudo parameters (or parameters given in `pseudo`),
    Fn::Join, Fn::Sub and Fn::Select of an Fn::Split, as deployed. Any reference to a resource
    fails: the value must be computable without one."""
    if isinstance(value, str):
        return value
    [(function, argument)] = value.items()
    if function == "Ref":
        return pseudo[argument]
    if function == "Fn::Join":
        separator, parts = argument
        return separator.join(evaluate(part, pseudo) for part in parts)
    if function == "Fn::Sub" and isinstance(argument, str):
        return re.sub(r"\$\{([^}]+)\}", lambda m: pseudo[m.group(1)], argument)
    if function == "Fn::Select":
        index, listed = argument
        [(inner, (separator, text))] = listed.items()
        assert inner == "Fn::Split", f"a select of a split only: {value}"
        return evaluate(text, pseudo).split(separator)[int(index)]
    raise AssertionError(f"not computable without a resource: {value}")


def arn(service: str, resource: str, pseudo: dict[str, str] = PSEUDO) -> str:
    """arn:<partition>:<service>:<region>:<account>:<resource>, as AWS names its resources."""
    return (
        f"arn:{pseudo['AWS::Partition']}:{service}:{pseudo['AWS::Region']}:"
        f"{pseudo['AWS::AccountId']}:{resource}"
    )


def get_att_arn(logical_id: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}
