"""`lastmile coldstart`'s report: each figure beside its target (the measuring needs a build)."""

from __future__ import annotations

from chalicelib.local.coldstart import Figures, report


def figures(**overrides: object) -> Figures:
    values: dict[str, object] = {
        "with_bytecode_ms": [612.0, 401.4, 420.0, 398.0, 455.0],
        "without_bytecode_ms": [1500.0, 1010.0, 990.0, 1200.0, 1003.0],
        "app_bytes": 2_100_000,
        "layer_bytes": 50_650_000,
        "without_bytecode_bytes": 54_300_000,
    }
    return Figures(**(values | overrides))  # type: ignore[arg-type]


def test_report_gives_medians_and_sizes_beside_their_targets() -> None:
    lines = report(figures()).splitlines()

    assert "median of 5 fresh interpreters" in lines[0]
    assert lines[1].split()[:5] == ["with", "precompiled", "bytecode", "420", "ms"]
    assert "target <= 500 ms: ok" in lines[1]
    assert "(runs: 612 401 420 398 455)" in lines[1]
    assert lines[2].split()[:4] == ["without", "bytecode", "1010", "ms"]
    assert lines[3].split()[:4] == ["unzipped", "size", "52.8", "MB"]
    assert "target <= 60 MB: ok" in lines[3]
    assert "app 2.1 MB, layer 50.6 MB; without bytecode 54.3 MB" in lines[3]


def test_report_says_when_a_target_is_missed() -> None:
    text = report(figures(with_bytecode_ms=[700.0, 650.0, 501.0], layer_bytes=58_000_000))

    assert "650 ms   target <= 500 ms: OVER" in text
    assert "60.1 MB   target <= 60 MB: OVER" in text
