"""``ganedge train`` through the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from ganedge.cli import app

from tests.conftest import run_cli
from trainer import load_checkpoint
from trainer.config import PRESETS

TINY = ("--image-size", "16", "--base-channels", "4", "--latent-dim", "8", "--batch-size", "8",
        "--no-progress")


def test_overrides_reach_run_json_and_checkpoint(tmp_path: Path) -> None:
    run_cli("train", "--out", str(tmp_path), "--steps", "2", *TINY, "--arch", "resize_conv",
            "--loss", "hinge", "--reg", "spectral_norm", "--reg", "diffaugment", "--lr-g", "1e-4",
            "--lr-d", "4e-4", "--n-critic", "2", "--ema", "0.9", "--conditional")
    saved = json.loads((tmp_path / "run.json").read_text())
    assert (saved["arch"], saved["loss"], saved["regularizers"], saved["n_critic"]) == (
        "resize_conv", "hinge", ["spectral_norm", "diffaugment"], 2)
    assert (saved["lr_g"], saved["lr_d"], saved["ema"], saved["conditional"]) == (1e-4, 4e-4, 0.9, True)
    ckpt = load_checkpoint(tmp_path / "ckpt.pt")
    assert ckpt["arch_config"]["num_classes"] == 10 and ckpt["arch_config"]["image_size"] == 16


def test_resume_from_cli_and_python_m_trainer(tmp_path: Path) -> None:
    run_cli("train", "--out", str(tmp_path), "--steps", "2", *TINY)
    result = subprocess.run([sys.executable, "-m", "trainer", "--out", str(tmp_path), "--resume",
                             str(tmp_path / "last.pt"), "--steps", "3", "--no-progress"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "for 3 steps" in result.stdout and load_checkpoint(tmp_path / "ckpt.pt")["step"] == 3


def test_presets_exist() -> None:
    assert PRESETS["digits-dcgan"].arch == "dcgan" and PRESETS["digits-edge"].arch == "resize_conv"


def test_bad_values_are_one_line_errors(tmp_path: Path) -> None:
    for args, message in ((("--arch", "vit"), "unknown architecture 'vit'"),
                          (("--n-critic", "0"), "--n-critic: must be at least 1 (got 0)"),
                          (("--reg", "label_smoothing", "--loss", "hinge"), "--reg label_smoothing")):
        # in-process: the same app object the console script runs
        result = CliRunner().invoke(app, ["train", "--out", str(tmp_path / "x"), "--steps", "1",
                                          *TINY, *args])
        assert result.exit_code == 2 and message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and result.exception is not None
    assert not (tmp_path / "x").exists()
