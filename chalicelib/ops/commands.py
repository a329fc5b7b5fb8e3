"""The `ops` command group of `lastmile`: each subcommand module registers its parsers here,
sharing the connection options (`--url`, `--key`, `--json`)."""

from __future__ import annotations

from typing import Any

from chalicelib.ops import parked, readback
from chalicelib.ops.client import connection_options

# One module per family of operator commands, each with `register(group, common)`.
GROUPS = (readback, parked)


def register(commands: Any) -> None:
    ops = commands.add_parser(
        "ops",
        help="read back and operate a running lastmile API (depots, merchants, runs, routes, "
        "orders, parked, redrive)",
    )
    group = ops.add_subparsers(dest="ops_command", required=True)
    common = connection_options()
    for module in GROUPS:
        module.register(group, common)
