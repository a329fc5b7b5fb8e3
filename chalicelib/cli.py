"""The `lastmile` command line: route planning tools and operator commands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lastmile", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    from chalicelib.routing.commands import register as register_routing

    register_routing(commands)
    from chalicelib.local.dispatch_bench import register as register_dispatch_bench

    register_dispatch_bench(commands)
    from chalicelib.local.load_bench import register as register_load_bench

    register_load_bench(commands)
    from chalicelib.local.fault_bench import register as register_fault_bench

    register_fault_bench(commands)
    from chalicelib.local.options_bench import register as register_options_bench

    register_options_bench(commands)
    from chalicelib.local.coldstart import register as register_coldstart

    register_coldstart(commands)
    from chalicelib.local.demo import register as register_demo

    register_demo(commands)
    from chalicelib.forecasting.bench import register as register_forecast_bench

    register_forecast_bench(commands)
    from chalicelib.ops.commands import register as register_ops

    register_ops(commands)
    from chalicelib.analytics.lake_commands import register as register_lake

    register_lake(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
