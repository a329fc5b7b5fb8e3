"""`lastmile bench` works from a clone: its default data folder is the repository's
benchmarks/vrptw, and it holds every instance the bench runs with a best-known value."""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import pytest

from chalicelib.routing import bench
from chalicelib.routing.solomon import read_solomon

REPO = Path(__file__).resolve().parents[3]
SIZES = {"solomon": (56, 100), "homberger200": (60, 200), "homberger400": (60, 400)}


def test_the_default_data_folder_is_inside_the_repository():
    assert bench.REPO_DATA == REPO / "benchmarks" / "vrptw"
    assert bench.REPO_DATA.is_relative_to(REPO)
    assert (bench.REPO_DATA / "bks.csv").is_file()
    assert (bench.REPO_DATA / "README.md").read_text().count("vroom-scripts") >= 1


def test_the_folder_is_tracked_by_git_not_just_present_here():
    tracked = subprocess.run(
        ["git", "ls-files", "benchmarks/vrptw"], cwd=REPO, capture_output=True, text=True
    ).stdout.split()
    if not tracked:
        pytest.fail("benchmarks/vrptw is not committed: a clone would not have it")
    assert "benchmarks/vrptw/bks.csv" in tracked
    assert len([p for p in tracked if p.endswith(".txt")]) == sum(n for n, _ in SIZES.values())


@pytest.mark.parametrize("suite", sorted(SIZES))
def test_every_instance_the_bench_runs_is_there_with_a_best_known_value(suite):
    count, customers = SIZES[suite]
    found = bench.cases(suite, bench.REPO_DATA, None, None, [])
    assert len(found) == count
    with (bench.REPO_DATA / "bks.csv").open() as fh:
        known = {row["instance"].upper() for row in csv.DictReader(fh)}
    distance_only = bench.load_bks(bench.REPO_DATA)  # the rows the gaps are taken against
    if suite == "solomon":
        assert {c.name for c in found} <= set(distance_only)
    for case in found:
        assert Path(case.source).is_relative_to(bench.REPO_DATA)
        assert case.name in known, case.name
        instance = read_solomon(case.source)
        assert len(instance.to_problem().stops) == customers


def test_a_missing_suite_folder_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="no homberger400 instances"):
        bench.cases("homberger400", tmp_path, None, None, [])
