"""`lastmile analytics-sql "SELECT ..."`: SQL with DuckDB over the lake's Parquet files, as the
exporter wrote them to S3 (locally, the runtime's stand-in: `make run`'s AWS endpoint). The
objects under `facts/` are copied to a temporary directory first: one listing and one GET an
object, and the query reads plain local files (no DuckDB extension to fetch)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.analytics.lake import PREFIX, S3Objects


def register(commands: Any) -> None:
    cmd = commands.add_parser(
        "analytics-sql",
        help="SQL over the lake's Parquet facts (views: facts, deliveries, failed_attempts, ...)",
    )
    cmd.add_argument("sql", help='e.g. "SELECT kind, count(*) FROM facts GROUP BY kind"')
    cmd.add_argument(
        "--endpoint-url",
        default=os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL"),
        help="S3's endpoint (the local runtime's AWS stand-in; default $AWS_ENDPOINT_URL_S3 "
        "or $AWS_ENDPOINT_URL, else AWS itself)",
    )
    cmd.add_argument(
        "--bucket",
        default=os.environ.get("LASTMILE_LAKE_BUCKET", "lastmile-lake"),
        help="the lake bucket (default $LASTMILE_LAKE_BUCKET or lastmile-lake)",
    )
    cmd.add_argument("--json", action="store_true", help="one JSON object a row")
    cmd.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import duckdb

    from chalicelib.analytics.lake_duckdb import query

    session = boto3.session.Session()
    local = {}
    if args.endpoint_url and session.get_credentials() is None:
        # The stand-in takes any credentials; a shell with none would stop boto3 before it.
        local = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
    s3 = session.client("s3", endpoint_url=args.endpoint_url, **local)
    with tempfile.TemporaryDirectory(prefix="lastmile-sql-") as tmp:
        try:
            S3Objects(s3, args.bucket).download(PREFIX, Path(tmp))
        except (BotoCoreError, ClientError) as exc:
            print(f"analytics-sql: reading s3://{args.bucket}/{PREFIX}: {exc}", file=sys.stderr)
            return 2
        try:
            names, rows = query(Path(tmp), args.sql)
        except duckdb.Error as exc:
            print(f"analytics-sql: {exc}", file=sys.stderr)
            return 2
    if args.json:
        for values in rows:
            print(json.dumps(dict(zip(names, values, strict=True)), default=_plain))
    else:
        print(table(names, rows))
    return 0


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return str(value)


def table(names: list[str], rows: list[tuple[Any, ...]]) -> str:
    """Aligned columns under a header, and the row count."""
    cells = [names, *([("" if v is None else str(v)) for v in r] for r in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(names))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(line.rstrip() for line in lines)
