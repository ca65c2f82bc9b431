"""Shared fixtures: one tiny trained run and its export, made once per test session."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TRAIN_STEPS = 5


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
