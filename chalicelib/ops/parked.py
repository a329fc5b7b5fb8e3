"""`lastmile ops parked` and `lastmile ops redrive`: outbox work parked after failed retries,
listed, and put back for another round of attempts."""

from __future__ import annotations

import argparse
from typing import Any

from chalicelib.ops.client import OpsApi, run, table


def _list(api: OpsApi, args: argparse.Namespace) -> Any:
    return api.call("GET", "/v1/ops/parked", params={"limit": args.limit})


def _redrive(api: OpsApi, args: argparse.Namespace) -> Any:
    return api.call("POST", "/v1/ops/redrive", json={"limit": args.limit})


def _render_list(reply: dict[str, Any]) -> str:
    counts = reply["counts"]
    head = f"retrying: {counts['retrying']}  dead-lettered: {counts['dead']}"
    rows = [{**item, "error": (item.get("error") or "")[:60]} for item in reply["items"]]
    columns = ["kind", "handler", "order_id", "type", "attempts", "dead_lettered_at", "error"]
    return head + ("\n\n" + table(rows, columns) if rows else "")


def _render_redrive(reply: dict[str, Any]) -> str:
    return table([reply], list(reply))


def register(ops: Any, common: argparse.ArgumentParser) -> None:
    parked = ops.add_parser(
        "parked", parents=[common], help="outbox work waiting for a retry or dead-lettered"
    )
    parked.add_argument("--limit", type=int, default=50, help="dead letters listed (1-200)")
    parked.set_defaults(func=lambda args: run(args, _render_list), request=_list)
    redrive = ops.add_parser(
        "redrive", parents=[common], help="put dead-lettered outbox work back for new attempts"
    )
    redrive.add_argument("--limit", type=int, default=1000, help="dead letters at most (1-1000)")
    redrive.set_defaults(func=lambda args: run(args, _render_redrive), request=_redrive)
