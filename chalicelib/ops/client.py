"""What every `lastmile ops` subcommand shares: where the API is and the key (flags, else
LASTMILE_URL / LASTMILE_KEY, else a profile file), one HTTP call or a list followed through its
pages, and the reply as a table or as JSON."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import requests

TIMEOUT_S = 60.0
PAGE_LIMIT = 200  # the most one page of any list holds


class OpsError(Exception):
    """The API refused or could not be reached; the message says which and why."""


def connection_options() -> argparse.ArgumentParser:
    """The options every subcommand takes (argparse `parents=`)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", help="the API's base URL (default: $LASTMILE_URL, the profile)")
    common.add_argument(
        "--key",
        help="the operator key; for `orders`, a merchant's API key (default: $LASTMILE_KEY or "
        "$LASTMILE_MERCHANT_KEY, then the profile's key or merchant_key)",
    )
    common.add_argument(
        "--profile",
        default=os.environ.get("LASTMILE_PROFILE_NAME", "default"),
        help=f"the table of the profile file to read (default: default); the file is "
        f"$LASTMILE_PROFILE or {DEFAULT_PROFILE}",
    )
    common.add_argument("--json", action="store_true", help="print the reply as JSON")
    return common


DEFAULT_PROFILE = "~/.config/lastmile/profile.toml"


def profile(name: str) -> dict[str, str]:
    """The named table of the profile file (`url`, `key`, `merchant_key`); {} with no file.

    ```toml
    [default]
    url = "http://127.0.0.1:8000"
    key = "lmadm_..."          # the operator key
    merchant_key = "lm_..."    # a merchant's API key, for `lastmile ops orders`
    ```"""
    path = Path(os.environ.get("LASTMILE_PROFILE") or DEFAULT_PROFILE).expanduser()
    try:
        document = tomllib.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise OpsError(f"the profile file {path} cannot be read: {exc}") from exc
    table = document.get(name, {})
    if not isinstance(table, dict):
        raise OpsError(f"{path}: [{name}] is not a table")
    return {k: str(v) for k, v in table.items() if isinstance(v, str)}


class OpsApi:
    def __init__(self, url: str, key: str, session: requests.Session | None = None) -> None:
        self._url = url.rstrip("/")
        self._key = key
        self._session = session or requests.Session()

    @classmethod
    def from_args(cls, args: argparse.Namespace, *, as_merchant: bool = False) -> OpsApi:
        """Where to call and with which key: flags, then the environment, then the profile."""
        env_key, profile_key = (
            ("LASTMILE_MERCHANT_KEY", "merchant_key") if as_merchant else ("LASTMILE_KEY", "key")
        )
        saved: dict[str, str] | None = None

        def from_profile(name: str) -> str | None:
            nonlocal saved
            saved = profile(args.profile) if saved is None else saved
            return saved.get(name)

        url = args.url or os.environ.get("LASTMILE_URL") or from_profile("url")
        key = args.key or os.environ.get(env_key) or from_profile(profile_key)
        if not url or not key:
            whose = "a merchant's API key" if as_merchant else "the operator key"
            raise OpsError(
                f"give the API's URL and {whose}: --url/--key, LASTMILE_URL/{env_key}, or "
                f"`url`/`{profile_key}` in [{args.profile}] of {DEFAULT_PROFILE}"
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

    def pages(
        self, path: str, params: dict[str, Any], most: int, cursor: str | None = None
    ) -> dict[str, Any]:
        """Up to `most` items of a list, following `next_cursor` page after page from `cursor`:
        `{items, next_cursor}`, the cursor where the next call would go on (null at the end)."""
        items: list[Any] = []
        while True:
            query = {**params, "limit": min(PAGE_LIMIT, most - len(items))}
            page = self.call("GET", path, params=query | ({"cursor": cursor} if cursor else {}))
            items += page["items"]
            cursor = page["next_cursor"]
            if cursor is None or len(items) >= most:
                return {"items": items, "next_cursor": cursor}


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """Rows as aligned columns under a header; empty cells for missing values."""
    cells = [[("" if r.get(c) is None else str(r.get(c))) for c in columns] for r in rows]
    widths = [max([len(c), *(len(row[n]) for row in cells)]) for n, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def fields(row: dict[str, Any]) -> str:
    """One object as `name  value` lines (nested values as compact JSON)."""
    width = max((len(k) for k in row), default=0)
    return "\n".join(
        f"{k.ljust(width)}  {json.dumps(v) if isinstance(v, dict | list) else v}"
        for k, v in row.items()
    )


def listing(reply: dict[str, Any], columns: Sequence[str]) -> str:
    """A list's items as a table, and how to go on when there is more."""
    text = table(reply["items"], columns) if reply["items"] else "(none)"
    if reply.get("next_cursor"):
        text += f"\n\nmore: --cursor {reply['next_cursor']}"
    return text


def run(args: argparse.Namespace, render: Any, *, as_merchant: bool = False) -> int:
    """Call the subcommand's `args.request(api)` and print its reply (`render` for a table)."""
    try:
        reply = args.request(OpsApi.from_args(args, as_merchant=as_merchant), args)
    except OpsError as exc:
        print(f"lastmile ops: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(reply, indent=2) if args.json else render(reply))
    return 0
