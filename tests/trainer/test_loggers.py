"""Metric loggers of ganedge's own trainer: TensorBoard events and metrics.csv read back."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ganedge.cli import app
from ganedge.errors import ConfigError
from trainer import ArchConfig, TrainConfig, train
from trainer.loggers import LOGGERS

TESTED = ("none", "csv", "tensorboard")
TINY = ["--arch", "mlp", "--image-size", "16", "--base-channels", "4", "--latent-dim", "8",
        "--batch-size", "8", "--log-every", "2", "--sample-every", "2", "--checkpoint-every", "2",
        "--no-progress"]


def _config(**changes: object) -> TrainConfig:
    settings = {"steps": 4, "log_every": 2, "sample_every": 2, "checkpoint_every": 2, **changes}
    return TrainConfig(arch="mlp", model=ArchConfig(latent_dim=8, image_size=16, base_channels=4),
                       batch_size=8, **settings)


def test_every_registered_logger_is_tested() -> None:
    assert set(LOGGERS.names()) <= set(TESTED)


@pytest.mark.slow
def test_train_logger_tensorboard_writes_scalars_images_and_config(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard", reason="pip install 'ganedge[tensorboard]'")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    result = CliRunner().invoke(app, ["train", "--out", str(tmp_path), "--steps", "4",
                                      "--logger", "tensorboard", *TINY])
    assert result.exit_code == 0, result.output
    events = EventAccumulator(str(tmp_path / "tensorboard"),
                              size_guidance={"images": 0, "scalars": 0, "tensors": 0}).Reload()
    scalars = events.Tags()["scalars"]
    for name in ("d_loss", "g_loss", "d_real", "d_fake", "grad_norm_d", "grad_norm_g",
                 "diversity"):
        assert f"health/{name}" in scalars
    assert [e.step for e in events.Scalars("health/g_loss")] == [2, 4]
    assert [e.step for e in events.Images("samples")] == [2, 4]
    assert "config/text_summary" in events.Tags()["tensors"]
    assert not (tmp_path / "metrics.csv").exists()


@pytest.mark.slow
def test_csv_logger_keeps_health_and_reported_metrics_and_resumes(tmp_path: Path) -> None:
    train(_config(steps=2), tmp_path)
    train(_config(steps=4), tmp_path, resume=tmp_path / "last.pt")
    with open(tmp_path / "metrics.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    g_loss = [int(r["step"]) for r in rows if r["name"] == "g_loss"]
    assert g_loss == [2, 4]  # the resumed run continues the file, no step twice
    assert {r["name"] for r in rows} >= {"d_loss", "d_real", "grad_norm_g", "metrics/diversity"}


def test_logger_none_writes_no_metric_file(tmp_path: Path) -> None:
    train(_config(steps=2, logger="none"), tmp_path)
    assert not (tmp_path / "metrics.csv").exists() and not (tmp_path / "tensorboard").exists()
    assert (tmp_path / "health.jsonl").is_file()


def test_an_unknown_logger_lists_the_names(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown logger 'wandb': choose one of \['csv'"):
        train(_config(logger="wandb"), tmp_path)
