"""Shared fixtures: one tiny trained run and its export, made once per test session; and a check
that the suite leaves the checkout as it found it (tests write only to temporary folders)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TRAIN_STEPS = 5
ROOT = Path(__file__).resolve().parents[1]
_GIT_STATUS = pytest.StashKey[str]()


def _git_status() -> str | None:
    """``git status --porcelain`` of the checkout, or None where it is not a git checkout."""
    try:
        result = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"],
                                cwd=ROOT, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout if result.returncode == 0 else None


def pytest_sessionstart(session: pytest.Session) -> None:
    status = _git_status()
    if status is not None:
        session.config.stash[_GIT_STATUS] = status


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when it changed ``git status``: a test wrote into the repository."""
    before = session.config.stash.get(_GIT_STATUS, None)
    after = _git_status() if before is not None else None
    if after is None or after == before:
        return
    changed = sorted(set(after.splitlines()) ^ set(before.splitlines()))
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("the tests changed the checkout (write into tmp_path instead): "
                            + ", ".join(changed), red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


def run_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the real ``ganedge`` CLI in a subprocess (as a user would) and return its result."""
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    result = subprocess.run([sys.executable, "-m", "ganedge", *args], capture_output=True,
                            text=True, env=env)
    if check and result.returncode != 0:
        raise AssertionError(f"ganedge {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder holding ckpt.pt from a few training steps of the default preset."""
    out = tmp_path_factory.mktemp("run")
    run_cli("train", "--out", str(out), "--steps", str(TRAIN_STEPS), "--no-progress")
    return out


@pytest.fixture(scope="session")
def exported_model(trained_run: Path) -> Path:
    """model.onnx exported from ``trained_run``'s checkpoint."""
    model = trained_run / "model.onnx"
    run_cli("export", str(trained_run / "ckpt.pt"), "-o", str(model))
    return model
