"""DuckDB over the lake's Parquet files: writes the export's files and answers SQL over a
local copy of them (`lastmile analytics-sql`). duckdb is imported here only, at first use:
it is the exporter's and the local tools' library, never the API's."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chalicelib.analytics.lake import COLUMNS, KINDS, PREFIX


def _connect() -> Any:
    import duckdb

    return duckdb.connect(":memory:")


class DuckDbParquet:
    """Rows of `lake.row` into one Parquet file (zstd, one row group per file)."""

    def write(self, rows: Sequence[tuple[Any, ...]], path: Path) -> None:
        con = _connect()
        try:
            columns = ", ".join(f'"{name}" {kind}' for name, kind in COLUMNS)
            con.execute(f"CREATE TABLE facts ({columns})")
            con.executemany(
                "INSERT INTO facts VALUES (?, ?, ?, ?, ?, ?::TIMESTAMPTZ,"
                " map(?::VARCHAR[], ?::DOUBLE[]), map(?::VARCHAR[], ?::VARCHAR[]))",
                list(rows),
            )
            target = str(path).replace("'", "''")
            con.execute(f"COPY facts TO '{target}' (FORMAT PARQUET, COMPRESSION ZSTD)")
        finally:
            con.close()


def query(
    root: Path, sql: str, params: Sequence[Any] = ()
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """`sql` over the files under `root` (a copy of the bucket's `facts/`): the view `facts`
    (every kind, with `kind` and `day` from the keys' partitions) and one per kind present
    (`deliveries`, `failed_attempts`, ...). Returns the column names and rows. The views'
    SQL is built from our own path and names (KINDS), never from input."""
    con = _connect()
    try:
        base = root / PREFIX.rstrip("/")
        files = sorted(base.glob("kind=*/day=*/*.parquet"))
        if files:
            # A view takes no parameters: the path is our own temporary directory, quoted.
            pattern = str(base / "kind=*" / "day=*" / "*.parquet").replace("'", "''")
            options = "hive_partitioning = true, hive_types = {'kind': VARCHAR, 'day': DATE}"
            over_files = f"SELECT * FROM read_parquet('{pattern}', {options})"  # noqa: S608
            con.execute(f"CREATE VIEW facts AS {over_files}")
        else:  # nothing exported yet: the same columns, no rows
            columns = ", ".join(f'"{name}" {kind}' for name, kind in COLUMNS)
            con.execute(f"CREATE TABLE facts ({columns}, kind VARCHAR, day DATE)")
        present = {f.parent.parent.name.removeprefix("kind=") for f in files}
        for kind, table in KINDS.items():
            if kind in present:
                # A view takes no parameters; `table` and `kind` are KINDS' own constants.
                of_kind = f"SELECT * FROM facts WHERE kind = '{kind}'"  # noqa: S608
                con.execute(f"CREATE VIEW {table} AS {of_kind}")
        result = con.execute(sql, list(params) or None)
        names = [d[0] for d in result.description or []]
        return names, result.fetchall()
    finally:
        con.close()
