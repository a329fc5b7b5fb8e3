"""The facts' export to the lake against moto: a driven route's facts land as Parquet objects
under their kind's and day's partitions, DuckDB reads back exactly the facts, and an export
run again (a retry, or the next run) overwrites the same objects: no row twice."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chalicelib import bootstrap
from chalicelib.analytics.lake import PREFIX, days_now, object_key
from chalicelib.analytics.lake_duckdb import query
from chalicelib.jobs import lake_export_handler
from chalicelib.local.aws import EmbeddedAws
from chalicelib.local.stepfunctions import LocalStepFunctions
from chalicelib.tracking.route_events import RouteEvent
from tests.integration.test_analytics_facts import today
from tests.integration.test_dispatch import place, run_to_end, sfn, tenant

__all__ = ["sfn"]


def now(minutes: float = 0) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


@pytest.fixture
def lake(aws: EmbeddedAws) -> str:
    s3 = aws.client("s3")
    bucket = bootstrap.settings().lake_bucket
    if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(
            Bucket=bucket,
            CreateBucketConfiguration={"LocationConstraint": os.environ["AWS_DEFAULT_REGION"]},
        )
    return bucket


def keys_of(aws: EmbeddedAws, bucket: str, depot_id: str) -> dict[str, str]:
    """The depot's objects in the lake: key -> ETag."""
    found = aws.client("s3").list_objects_v2(Bucket=bucket, Prefix=PREFIX).get("Contents", [])
    return {o["Key"]: o["ETag"] for o in found if o["Key"].endswith(f"/depot-{depot_id}.parquet")}


def test_a_driven_route_lands_in_the_lake_once_however_often_it_is_exported(
    aws: EmbeddedAws, lake: str, sfn: tuple[LocalStepFunctions, str], tmp_path: Path
) -> None:
    merchant = tenant(vehicles=1)
    for n in range(3):
        place(merchant, n)
    [route] = run_to_end(sfn, merchant.depot_id)["routes"]
    first, second, third = (s["order_id"] for s in route["stops"])
    events, token, route_id = bootstrap.route_events(), route["driver_token"], route["route_id"]
    events.record(route_id, token, RouteEvent("departed", now(), "dep"))
    events.record(route_id, token, RouteEvent("delivered", now(1), "d-1", first))
    events.record(route_id, token, RouteEvent("delivered", now(2), "d-2", second))
    events.record(route_id, token, RouteEvent("failed", now(3), "f-1", third, reason="refused"))
    day = today(merchant.depot_id)
    facts = list(bootstrap.fact_store().facts_of_day(merchant.depot_id, day))
    kinds = {f.kind for f in facts}
    assert {"delivery", "failed_attempt", "route_departure"} <= kinds

    # The exporter function's entry, as its EventBridge rule invokes it (the run's time).
    scheduled = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    result = lake_export_handler({"detail-type": "Scheduled Event", "time": scheduled}, None)
    assert result["days"] == days_now(datetime.now(UTC)) and day in result["days"]
    written = keys_of(aws, lake, merchant.depot_id)
    assert set(written) == {object_key(kind, day, merchant.depot_id) for kind in kinds}

    bootstrap.lake_objects().download(PREFIX, tmp_path)
    depot = merchant.depot_id
    _, rows = query(
        tmp_path,
        "SELECT kind, CAST(day AS VARCHAR), subject, identity, merchant_id, vehicle_id,"
        " epoch_ms(occurred_at), numbers, labels FROM facts WHERE depot_id = ?".replace(
            "?", f"'{depot}'"
        ),
    )
    expected = sorted(
        (
            f.kind,
            f.day,
            f.subject,
            f.identity,
            f.merchant_id,
            f.vehicle_id,
            int(datetime.fromisoformat(f.at).timestamp() * 1000),
            {k: float(v) for k, v in f.values.items() if isinstance(v, int | float)},
            {k: v for k, v in f.values.items() if isinstance(v, str)},
        )
        for f in facts
    )
    assert sorted(rows, key=lambda r: r[:4]) == sorted(expected, key=lambda r: r[:4])
    _, [(reason,)] = query(
        tmp_path, "SELECT labels['reason'] FROM failed_attempts WHERE depot_id = ?", [depot]
    )
    assert reason == "refused"

    # Run again (a retry of the same run, or the next one): the same objects, overwritten.
    bootstrap.lake_export().run([day])
    assert set(keys_of(aws, lake, depot)) == set(written)
    again = tmp_path / "again"
    bootstrap.lake_objects().download(PREFIX, again)
    _, [(count,)] = query(again, "SELECT count(*) FROM facts WHERE depot_id = ?", [depot])
    assert count == len(facts)
