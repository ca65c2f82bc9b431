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
        "train: 24/1000 steps (2%), 0.8 steps/s, D 1.000",  # the first line: no ETA yet
        "train: 48/1000 steps (4%), 0.8 steps/s, ETA 19m50s, D 1.000",
        "train: 100/1000 steps (10%), 2.34 steps/s, ETA 6m25s",  # 76 steps in 32.5 s
    ]


def test_a_slow_start_does_not_inflate_the_eta(capsys: pytest.CaptureFixture[str]) -> None:
    """The first step takes 40 s (warm-up), then 10 steps/s: the estimate follows the latter,
    and figures passed as a callable are fetched only for the lines shown."""
    now, fetched = [0.0], []

    def figures() -> str:
        fetched.append(now[0])
        return "D 1.000"

    with Reporter("train", 3000, "steps", clock=lambda: now[0]) as progress:
        now[0] = 40.0
        progress.update(1, figures)
        for step in range(2, 701):
            now[0] += 0.1
            progress.update(step, figures)
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["train: 1/3000 steps (0%), 0.025 steps/s, D 1.000",
                     "train: 300/3000 steps (10%), 10 steps/s, ETA 4m30s, D 1.000",
                     "train: 600/3000 steps (20%), 10 steps/s, ETA 4m00s, D 1.000"]
    assert len(fetched) == 3


def test_work_that_arrives_in_bursts_gets_rates_over_the_whole_run(
        capsys: pytest.CaptureFixture[str]) -> None:
    """Ray Data hands finished units back in bursts: 64 images after a 6 s start, the rest
    within 50 ms. A rate over those milliseconds would say thousands of images per second."""
    now = [0.0]
    with Reporter("bulk", 301, "images", clock=lambda: now[0]) as progress:
        for done, at in ((64, 6.0), (128, 6.01), (192, 6.02), (301, 6.05)):
            now[0] = at
            progress.update(done)
    assert capsys.readouterr().out.splitlines() == [
        "bulk: 64/301 images (21%), 10.7 images/s",
        "bulk: 128/301 images (42%), 21.3 images/s",
        "bulk: 192/301 images (63%), 31.9 images/s",
        "bulk: 301/301 images (100%), 49.8 images/s, took 6s"]


def test_disabled_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with Reporter("sample", 10, "images", enabled=False) as progress:
        progress.advance(10)
    assert capsys.readouterr().out == ""
