"""CUDA only (skipped without a GPU): fp16 autocast with GradScaler trains and resumes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from trainer import TrainConfig, load_checkpoint, train
from trainer.config import ArchConfig

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def test_amp_training_on_cuda(tmp_path: Path) -> None:
    cfg = TrainConfig(model=ArchConfig(latent_dim=8, image_size=16, base_channels=4), batch_size=8,
                      steps=4, log_every=2, sample_every=0, checkpoint_every=2, device="cuda")
    result = train(cfg, tmp_path)
    ckpt = load_checkpoint(result.checkpoint)
    assert ckpt["scaler"]["g"]["scale"] > 0 and result.step == 4
    assert all(torch.isfinite(t).all() for t in ckpt["generator"].values())
    resumed = train(replace(cfg, steps=5), tmp_path,
                    resume=tmp_path / "last.pt")
    assert resumed.step == 5
