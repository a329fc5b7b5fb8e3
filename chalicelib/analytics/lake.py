"""The facts' columnar copy in S3 (the data lake): its layout and the export of depots' days.

A scheduled export, not a stream consumer: each run rewrites, for each depot and each day that
can be "today" in some zone, one Parquet object per kind from the day's facts (gsi1 lists a
depot's day). An object is named by what it holds (kind, day, depot), never by a batch, so a
retried or overlapping run overwrites the same object with the same rows: no duplicates, and
a reader (S3 being strongly consistent, a PUT atomic) sees the old whole file or the new one.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from chalicelib.analytics.facts import Fact

PREFIX = "facts/"
# Every kind the recorder writes (docs/analytics.md), and its table's name in `analytics-sql`.
KINDS = {
    "delivery": "deliveries",
    "failed_attempt": "failed_attempts",
    "return": "returns",
    "locker_deposit": "locker_deposits",
    "locker_collection": "locker_collections",
    "locker_expiry": "locker_expiries",
    "cancellation": "cancellations",
    "rating": "ratings",
    "route_departure": "route_departures",
    "route_completion": "route_completions",
}
# The files' columns (the Glue table's, infra/stacks/lake.py); `kind` and `day` are the
# partitions, in the key, not in the file. A fact's values are split by type so the schema
# stays fixed: numbers (a bool as 1 or 0) and labels (strings).
COLUMNS = (
    ("subject", "VARCHAR"),
    ("identity", "VARCHAR"),
    ("depot_id", "VARCHAR"),
    ("merchant_id", "VARCHAR"),
    ("vehicle_id", "VARCHAR"),
    ("occurred_at", "TIMESTAMPTZ"),  # the fact's `at` (`at` is a keyword in SQL)
    ("numbers", "MAP(VARCHAR, DOUBLE)"),
    ("labels", "MAP(VARCHAR, VARCHAR)"),
)


def object_key(kind: str, day: str, depot_id: str) -> str:
    return f"{PREFIX}kind={kind}/day={day}/depot-{depot_id}.parquet"


def row(fact: Fact) -> dict[str, Any]:
    """One fact as the file's row (lake.COLUMNS, JSON-ready): its values split into numbers
    and labels."""
    return {
        "subject": fact.subject,
        "identity": fact.identity,
        "depot_id": fact.depot_id,
        "merchant_id": fact.merchant_id,
        "vehicle_id": fact.vehicle_id,
        "occurred_at": fact.at,
        "numbers": {k: float(v) for k, v in fact.values.items() if isinstance(v, int | float)},
        "labels": {k: v for k, v in fact.values.items() if isinstance(v, str)},
    }


def days_now(now: datetime) -> list[str]:
    """The depot-local days it can be somewhere at `now` (UTC-12 to UTC+14): the UTC day and
    its neighbours."""
    utc = now.astimezone(UTC).date()
    return [(utc + timedelta(days=n)).isoformat() for n in (-1, 0, 1)]


class FactsOfDay(Protocol):
    def facts_of_day(self, depot_id: str, day: str) -> Iterable[Fact]: ...


class ParquetWriter(Protocol):
    def write(self, rows: Sequence[dict[str, Any]], path: Path) -> None: ...


class Objects(Protocol):
    def put(self, key: str, path: Path) -> None: ...


@dataclass(frozen=True)
class ExportResult:
    days: list[str]
    objects: list[str]
    facts: int

    def as_dict(self) -> dict[str, Any]:
        return {"days": self.days, "objects": len(self.objects), "facts": self.facts}


class LakeExport:
    """Depots' days of facts into one Parquet object per kind, overwritten on every run."""

    def __init__(
        self,
        facts: FactsOfDay,
        depot_ids: Callable[[], Iterable[str]],
        writer: ParquetWriter,
        objects: Objects,
    ) -> None:
        self._facts = facts
        self._depot_ids = depot_ids
        self._writer = writer
        self._objects = objects

    def run(self, days: Sequence[str]) -> ExportResult:
        written: list[str] = []
        count = 0
        with tempfile.TemporaryDirectory(prefix="lastmile-lake-") as tmp:
            for depot_id in self._depot_ids():
                for day in days:
                    by_kind: dict[str, list[Fact]] = {}
                    for fact in self._facts.facts_of_day(depot_id, day):
                        by_kind.setdefault(fact.kind, []).append(fact)
                    for kind, facts in sorted(by_kind.items()):
                        # Sorted: the same facts make the same file, whichever run wrote it.
                        rows = [
                            row(f) for f in sorted(facts, key=lambda f: (f.subject, f.identity))
                        ]
                        path = Path(tmp) / f"{len(written)}.parquet"
                        self._writer.write(rows, path)
                        key = object_key(kind, day, depot_id)
                        self._objects.put(key, path)
                        written.append(key)
                        count += len(rows)
        return ExportResult(list(days), written, count)


class S3Objects:
    """The lake's bucket (boto3's S3 client)."""

    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def put(self, key: str, path: Path) -> None:
        self._client.upload_file(
            str(path),
            self._bucket,
            key,
            ExtraArgs={"ContentType": "application/vnd.apache.parquet"},
        )

    def download(self, prefix: str, into: Path) -> int:
        """Every object under `prefix` into `into` (its key as the relative path); how many."""
        n = 0
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self._bucket, Prefix=prefix
        )
        for obj in (o for page in pages for o in page.get("Contents", [])):
            target = into / obj["Key"]
            target.parent.mkdir(parents=True, exist_ok=True)
            self._client.download_file(self._bucket, obj["Key"], str(target))
            n += 1
        return n
