"""The lake's layout and export, with stateful fakes: one object per kind, day and depot,
named by what it holds (a rerun writes the same keys), rows in a fixed order, values split by
type, and the days that can be "today" somewhere."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chalicelib.analytics.facts import Fact
from chalicelib.analytics.lake import LakeExport, days_now, object_key, row


def a_fact(kind: str, subject: str, identity: str, day: str = "2026-12-01", **values: Any) -> Fact:
    return Fact(
        kind, subject, identity, day, "dep_1", "mer_1", "van-1", f"{day}T10:00:00+00:00", values
    )


class DayOfFacts:
    def __init__(self, facts: list[Fact]) -> None:
        self.facts = facts

    def facts_of_day(self, depot_id: str, day: str) -> Iterable[Fact]:
        return [f for f in self.facts if f.depot_id == depot_id and f.day == day]


class RecordingWriter:
    def write(self, rows: Sequence[dict[str, Any]], path: Path) -> None:
        path.write_text(repr(list(rows)))


class RecordingObjects:
    def __init__(self) -> None:
        self.objects: dict[str, str] = {}
        self.puts = 0

    def put(self, key: str, path: Path) -> None:
        self.objects[key] = path.read_text()
        self.puts += 1


def test_one_object_per_kind_day_and_depot_rewritten_whole_by_a_rerun() -> None:
    facts = DayOfFacts(
        [
            a_fact("delivery", "ord_b", "DELIVERY"),
            a_fact("delivery", "ord_a", "DELIVERY"),
            a_fact("failed_attempt", "ord_c", "FAILED#1", reason="not_home"),
            a_fact("delivery", "ord_d", "DELIVERY", day="2026-12-02"),
        ]
    )
    objects = RecordingObjects()
    export = LakeExport(facts, lambda: ["dep_1"], RecordingWriter(), objects)

    result = export.run(["2026-12-01"])
    assert sorted(objects.objects) == [
        "facts/kind=delivery/day=2026-12-01/depot-dep_1.parquet",
        "facts/kind=failed_attempt/day=2026-12-01/depot-dep_1.parquet",
    ]
    assert result.facts == 3 and result.as_dict()["objects"] == 2
    deliveries = objects.objects[object_key("delivery", "2026-12-01", "dep_1")]
    assert deliveries.index("ord_a") < deliveries.index("ord_b")  # sorted, whoever came first
    first = dict(objects.objects)

    facts.facts.reverse()  # the index answers in another order: the same files
    export.run(["2026-12-01"])
    assert objects.objects == first and objects.puts == 4


def test_a_row_splits_values_into_numbers_and_labels() -> None:
    fact = a_fact(
        "delivery", "ord_a", "DELIVERY", on_time=True, delay_s=0, distance_m=812.5, outcome="x"
    )
    assert row(fact) == {
        "subject": "ord_a",
        "identity": "DELIVERY",
        "depot_id": "dep_1",
        "merchant_id": "mer_1",
        "vehicle_id": "van-1",
        "occurred_at": fact.at,
        "numbers": {"on_time": 1.0, "delay_s": 0.0, "distance_m": 812.5},
        "labels": {"outcome": "x"},
    }


def test_the_days_exported_cover_every_zone() -> None:
    # 23:30 UTC: already tomorrow in Auckland, still today in Honolulu and yesterday nowhere.
    late = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    assert days_now(late) == ["2026-11-30", "2026-12-01", "2026-12-02"]
