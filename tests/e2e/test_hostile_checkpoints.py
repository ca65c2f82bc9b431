"""``ganedge export`` and ``ganedge train --resume`` on every hostile checkpoint of the corpus:
no traceback, a non-zero exit with one line naming the file, nothing written, no code run, and
a bounded peak memory (all cases run in one child process whose peak RSS, VmHWM, is read)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.trainer.hostile_checkpoints import ALL_CASES, MARKER, build_corpus, tiny_checkpoint

RSS_BOUND_MB = 500  # peak over the child's baseline (torch, onnx and the CLI imported)

# VmHWM, not ru_maxrss: Linux carries the parent's (pytest's) peak into a child's ru_maxrss across
# fork+exec, which would hide any growth below it
CHILD = """
import json, sys
from pathlib import Path
import onnx, torch  # the commands' own imports, part of the baseline
import exports.checkpoint, trainer.loop
from typer.testing import CliRunner
from ganedge.cli import app
def vm_hwm_kb():
    status = Path("/proc/self/status").read_text().splitlines()
    return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
baseline = vm_hwm_kb()
runs = []
for name, args in json.loads(sys.argv[1]):
    result = CliRunner().invoke(app, args)
    runs.append({"name": name, "args": args, "code": result.exit_code, "stderr": result.stderr,
                 "exception": type(result.exception).__name__ if result.exception else None})
peak = vm_hwm_kb()
print(json.dumps({"baseline_kb": baseline, "peak_kb": peak, "runs": runs}))
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("hostile")
    paths = build_corpus(tiny_checkpoint(tmp_path_factory.mktemp("valid")), folder)
    runs = []
    for case in ALL_CASES:
        path = str(paths[case.name])
        if not case.resume_only:
            runs.append((case.name, ["export", path, "-o", str(folder / f"{case.name}.onnx")]))
        runs.append((case.name, ["train", "--resume", path, "--out", str(folder / case.name),
                                 "--no-progress"]))
    child = subprocess.run([sys.executable, "-c", CHILD, json.dumps(runs)], capture_output=True,
                           text=True)
    assert child.returncode == 0, child.stderr
    return {**json.loads(child.stdout), "folder": folder}


@pytest.mark.slow
def test_every_command_refuses_every_hostile_checkpoint_in_one_line(report: dict) -> None:
    words = {case.name: case.words for case in ALL_CASES}
    for run in report["runs"]:
        what = f"{run['name']}: ganedge {' '.join(run['args'][:2])}"
        assert run["exception"] == "SystemExit", f"{what} raised {run['exception']}"
        assert run["code"] != 0, what
        lines = run["stderr"].splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), f"{what}: {run['stderr']}"
        assert words[run["name"]] in lines[0] and f"{run['name']}.pt" in lines[0], (
            f"{what}: {lines}")
    assert len(report["runs"]) == 2 * len(ALL_CASES) - sum(c.resume_only for c in ALL_CASES)


@pytest.mark.slow
def test_nothing_is_written_and_no_code_runs(report: dict) -> None:
    folder: Path = report["folder"]
    assert not (folder / MARKER).exists()
    assert not list(folder.glob("*.onnx"))
    assert not [case.name for case in ALL_CASES if (folder / case.name).exists()]


@pytest.mark.slow
def test_peak_memory_stays_bounded(report: dict) -> None:
    grown_mb = (report["peak_kb"] - report["baseline_kb"]) / 1024
    assert grown_mb < RSS_BOUND_MB, f"peak RSS grew {grown_mb:.0f} MB over the baseline"
