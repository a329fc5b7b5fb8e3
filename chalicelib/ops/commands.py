"""The `ops` command group of `lastmile`: each subcommand module registers its parsers here,
sharing the connection options (`--url`, `--key`, `--json`)."""

from __future__ import annotations

from typing import Any

from chalicelib.ops import parked
from chalicelib.ops.client import connection_options

# One module per family of operator commands (depots, merchants, runs, routes, orders...),
# each with `register(group, common)`.
GROUPS = (parked,)


def register(commands: Any) -> None:
    ops = commands.add_parser("ops", help="operate a running lastmile API with the operator key")
    group = ops.add_subparsers(dest="ops_command", required=True)
    common = connection_options()
    for module in GROUPS:
        module.register(group, common)
