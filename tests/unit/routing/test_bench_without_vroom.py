"""`lastmile bench` after `make run` alone (no pyvroom, which only the dev install has): our
planner still runs every instance, and one line says the baseline is missing and how to get it."""

from __future__ import annotations

import sys

import pytest

from chalicelib.cli import main

TINY = ["--suite", "realistic", "--realistic-cases", "12:1", "--time-limit", "1", "--workers", "1"]


@pytest.fixture
def no_vroom(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "vroom", None)  # `import vroom` raises ImportError


@pytest.mark.usefixtures("no_vroom")
def test_the_bench_runs_without_the_baseline_and_says_so_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["bench", *TINY]) == 0
    out, err = capsys.readouterr()
    [said] = err.splitlines()
    assert said.startswith("lastmile bench: pyvroom is not installed")
    assert "make test" in said and "pip install 'pyvroom" in said
    [row] = [line for line in out.splitlines() if line.startswith("| real12s1 ")]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2] == "12" and cells[-1] == "ok", row  # all 12 served, the plan checked
    assert cells[9:15] == ["-"] * 6, row  # no pyvroom figures


@pytest.mark.usefixtures("no_vroom")
def test_no_vroom_asked_for_is_not_reported_as_missing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["bench", *TINY, "--no-vroom"]) == 0
    assert capsys.readouterr().err == ""
