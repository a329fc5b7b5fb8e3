"""What every `lastmile ops` subcommand shares: where the API is and the operator key (flags or
LASTMILE_URL / LASTMILE_KEY), one HTTP call, and the reply as a table or as JSON."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

import requests

TIMEOUT_S = 60.0


class OpsError(Exception):
    """The API refused or could not be reached; the message says which and why."""


def connection_options() -> argparse.ArgumentParser:
    """The options every subcommand takes (argparse `parents=`)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", help="the API's base URL (default: $LASTMILE_URL)")
    common.add_argument("--key", help="the operator key (default: $LASTMILE_KEY)")
    common.add_argument("--json", action="store_true", help="print the reply as JSON")
    return common


class OpsApi:
    def __init__(self, url: str, key: str, session: requests.Session | None = None) -> None:
        self._url = url.rstrip("/")
        self._key = key
        self._session = session or requests.Session()

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> OpsApi:
        url = args.url or os.environ.get("LASTMILE_URL")
        key = args.key or os.environ.get("LASTMILE_KEY")
        if not url or not key:
            raise OpsError(
                "give the API's URL and the operator key: --url/--key or LASTMILE_URL/LASTMILE_KEY"
            )
        return cls(url, key)

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            answer = self._session.request(
                method,
                self._url + path,
                headers={"Authorization": f"Bearer {self._key}"},
                timeout=TIMEOUT_S,
                **kwargs,
            )
        except requests.RequestException as exc:
            raise OpsError(f"{method} {path}: {exc}") from exc
        if not answer.ok:
            try:
                error = answer.json()["error"]
                reason = f"{error['code']}: {error['message']}"
            except (ValueError, KeyError, TypeError):
                reason = answer.text[:200]
            raise OpsError(f"{method} {path} answered {answer.status_code} ({reason})")
        return answer.json()


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """Rows as aligned columns under a header; empty cells for missing values."""
    cells = [[("" if r.get(c) is None else str(r.get(c))) for c in columns] for r in rows]
    widths = [max([len(c), *(len(row[n]) for row in cells)]) for n, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def run(args: argparse.Namespace, render: Any) -> int:
    """Call the subcommand's `args.request(api)` and print its reply (`render` for a table)."""
    try:
        reply = args.request(OpsApi.from_args(args), args)
    except OpsError as exc:
        print(f"lastmile ops: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(reply, indent=2) if args.json else render(reply))
    return 0
