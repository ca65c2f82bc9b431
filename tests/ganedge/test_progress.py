"""The progress reporter's pacing in a log: a line every 10% of the work or every 30 s."""

from __future__ import annotations

import pytest

from ganedge.cli.progress import Reporter


def test_lines_every_tenth_or_thirty_seconds(capsys: pytest.CaptureFixture[str]) -> None:
    now = [0.0]
    with Reporter("train", 1000, "steps", clock=lambda: now[0]) as progress:
        for step in range(1, 51):  # 5% of the work in 62.5 s: only the 30 s rule fires
            now[0] += 1.25
            progress.update(step, "D 1.000")
        progress.update(100)  # 10%
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "train: 24/1000 steps (2%), 0.8 steps/s, ETA 20m20s, D 1.000",
        "train: 48/1000 steps (4%), 0.8 steps/s, ETA 19m50s, D 1.000",
        "train: 100/1000 steps (10%), 1.6 steps/s, ETA 9m22s",
    ]


def test_disabled_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with Reporter("sample", 10, "images", enabled=False) as progress:
        progress.advance(10)
    assert capsys.readouterr().out == ""
