"""What deleting a stage's stack does to its named resources (tables, buckets, logs, keys)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy


def removal_for(stage: str) -> RemovalPolicy:
    """Prod keeps them; a dev stack takes them along (a retained one would block a new stack
    of the same stage)."""
    return RemovalPolicy.RETAIN if stage == "prod" else RemovalPolicy.DESTROY
