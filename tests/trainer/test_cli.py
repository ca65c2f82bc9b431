"""``ganedge train`` through the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ganedge.cli import app
from ganedge.cli.train import NOT_ON_CLI, _done_line, config_options
from tests.conftest import run_cli
from trainer import load_checkpoint
from trainer.config import PRECISIONS, PRESETS, ArchConfig, TrainConfig, preset
from trainer.loop import TrainResult

TINY = ("--image-size", "16", "--base-channels", "4", "--latent-dim", "8", "--batch-size", "8",
        "--no-progress")


@pytest.mark.slow
def test_overrides_reach_run_json_and_checkpoint(tmp_path: Path) -> None:
    run_cli("train", "--out", str(tmp_path), "--steps", "2", *TINY, "--arch", "resize_conv",
            "--loss", "hinge", "--reg", "spectral_norm", "--reg", "diffaugment", "--lr-g", "1e-4",
            "--lr-d", "4e-4", "--n-critic", "2", "--ema", "0.9", "--conditional")
    saved = json.loads((tmp_path / "run.json").read_text())
    assert (saved["arch"], saved["loss"], saved["regularizers"], saved["n_critic"]) == (
        "resize_conv", "hinge", ["spectral_norm", "diffaugment"], 2)
    assert (saved["lr_g"], saved["lr_d"], saved["ema"], saved["conditional"]) == (
        1e-4, 4e-4, 0.9, True)
    ckpt = load_checkpoint(tmp_path / "ckpt.pt")
    assert ckpt["arch_config"]["num_classes"] == 10 and ckpt["arch_config"]["image_size"] == 16


@pytest.mark.slow
def test_progress_in_a_log_then_resume_with_a_json_result(tmp_path: Path) -> None:
    # stdout is a pipe here, as in a log file: plain progress lines with step/total and losses
    first = run_cli("train", "--out", str(tmp_path), "--steps", "2", *TINY[:-1]).stdout
    progress = [line for line in first.splitlines() if line.startswith("train: ")]
    assert [line.split(" (")[0] for line in progress] == ["train: 1/2 steps", "train: 2/2 steps"]
    assert all(" steps/s, " in line and ", D " in line and " G " in line for line in progress)
    assert first.startswith("training: dcgan 16×16, z 8, nonsaturating loss")
    result = subprocess.run([sys.executable, "-m", "ganedge", "train", "-o", str(tmp_path),
                             "--resume", str(tmp_path / "last.pt"), "--steps", "3", "--json"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["steps"] == 3 and report["config"]["steps"] == 3
    assert report["checkpoint"] == str(tmp_path / "ckpt.pt")
    assert load_checkpoint(tmp_path / "ckpt.pt")["step"] == 3


@pytest.mark.slow
def test_reg_none_clears_the_presets_regularizers(tmp_path: Path) -> None:
    assert PRESETS["digits-dcgan"].regularizers == ("r1",)
    run_cli("train", "--out", str(tmp_path), "--steps", "1", *TINY, "--reg", "none")
    assert json.loads((tmp_path / "run.json").read_text())["regularizers"] == []


def test_presets_exist() -> None:
    assert PRESETS["digits-dcgan"].arch == "dcgan" and PRESETS["digits-edge"].arch == "resize_conv"
    assert PRESETS["stacked-digits"].dataset == "stacked-digits"
    assert PRESETS["digits-stylegan2"].arch == "stylegan2"


def test_bad_values_are_one_line_errors(tmp_path: Path) -> None:
    for args, message in ((("--arch", "vit"), "'vit' is not one of 'dcgan', 'mlp'"),
                          (("--n-critic", "0"), "--n-critic: must be at least 1 (got 0)"),
                          (("--reg", "label_smoothing", "--loss", "hinge"),
                           "--reg: label_smoothing needs a loss with targets"),
                          (("--reg", "none", "--reg", "r1"),
                           "--reg: 'none' cannot be combined with other regularizers")):
        # in-process: the same app object the console script runs
        result = CliRunner().invoke(app, ["train", "--out", str(tmp_path / "x"), "--steps", "1",
                                          *TINY, *args])
        assert result.exit_code == 2 and message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_every_config_field_is_an_option_or_listed_as_not() -> None:
    """A new TrainConfig/ArchConfig field fails here until `train` has an option of its name (or
    NOT_ON_CLI says why it has none)."""
    known = {f.name for f in fields(TrainConfig)} | {f.name for f in fields(ArchConfig)}
    options = set(config_options().values())
    assert options.isdisjoint(NOT_ON_CLI) and set(NOT_ON_CLI) <= known
    assert sorted(known - options - set(NOT_ON_CLI)) == []
    assert {"precision", "regularizers", "image_size", "dataset"} <= options


def test_help_lists_the_precisions() -> None:
    result = CliRunner().invoke(app, ["train", "-h"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0
    assert f"--precision <{'|'.join(PRECISIONS)}>" in result.output


def test_done_line_without_health_figures_has_no_stray_separator(tmp_path: Path) -> None:
    result = TrainResult(tmp_path / "ckpt.pt", 2, 1.25, 0.5, {})
    assert _done_line(preset("digits-dcgan"), result) == (
        f"trained dcgan for 2 steps (D 1.250, G 0.500) → {tmp_path / 'ckpt.pt'}")
