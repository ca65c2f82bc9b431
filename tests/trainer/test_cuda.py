"""CUDA only (skipped without a GPU): every precision × loss × regularizer trains a tiny model
without a rollback, the default precision trains every preset, no step waits for the host between
sync points, and a CUDA checkpoint resumes on CUDA and on the CPU."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from trainer import TrainConfig, load_checkpoint, train
from trainer.callbacks import Callback
from trainer.config import PRESETS, ArchConfig
from trainer.loop import Trainer

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

TINY = TrainConfig(model=ArchConfig(latent_dim=8, image_size=16, base_channels=4), batch_size=8,
                   steps=20, log_every=5, sample_every=0, checkpoint_every=10, device="cuda")
STYLEGAN = replace(TINY, arch="stylegan2", model=ArchConfig(latent_dim=8, image_size=16,
                                                            base_channels=4, channel_max=8,
                                                            mapping_layers=2))
# (loss, regularizers) pairs that make sense together; wgan_gp is the WGAN's own
PAIRS = [("nonsaturating", ()), ("nonsaturating", ("r1",)), ("hinge", ("spectral_norm",)),
         ("hinge", ("r1", "diffaugment")), ("wasserstein", ("wgan_gp",))]


def events(out: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (out / "health.jsonl").open()]


def assert_clean(out: Path, steps: int) -> None:
    """The run reached ``steps`` with finite weights and no rollback."""
    logged = events(out)
    assert not [e for e in logged if e.get("event") == "rollback"], logged
    ckpt = load_checkpoint(out / "ckpt.pt")
    assert ckpt["step"] == steps
    assert all(torch.isfinite(t).all() for t in ckpt["generator"].values())


@pytest.mark.parametrize("precision", ["fp32", "fp16", "bf16"])
@pytest.mark.parametrize(("loss", "regs"), PAIRS)
def test_precision_loss_regularizer_matrix(tmp_path: Path, precision: str, loss: str,
                                           regs: tuple[str, ...]) -> None:
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")
    cfg = replace(TINY, precision=precision, loss=loss, regularizers=regs, r1_every=2)
    train(cfg, tmp_path)
    assert_clean(tmp_path, cfg.steps)
    ckpt = load_checkpoint(tmp_path / "ckpt.pt")
    assert ckpt["precision"] == precision
    assert bool(ckpt["scaler"]["d"]) == (precision == "fp16")


@pytest.mark.parametrize("precision", ["fp32", "fp16", "bf16"])
def test_stylegan2_with_path_length(tmp_path: Path, precision: str) -> None:
    cfg = replace(STYLEGAN, precision=precision, regularizers=("r1", "path_length"),
                  r1_every=2, pl_every=2)
    train(cfg, tmp_path)
    assert_clean(tmp_path, cfg.steps)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_trains_in_the_default_precision(tmp_path: Path, name: str) -> None:
    cfg = replace(PRESETS[name], steps=60, log_every=20, sample_every=0, checkpoint_every=0,
                  device="cuda")
    train(cfg, tmp_path)
    assert_clean(tmp_path, 60)
    expected = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    assert load_checkpoint(tmp_path / "ckpt.pt")["precision"] == expected


class NoSync(Callback):
    """Makes any host–device synchronisation an error between two sync points."""

    def __init__(self, start: int, stop: int) -> None:
        self.start, self.stop = start, stop

    def on_step_end(self, trainer: Trainer, step: int, logs: dict[str, torch.Tensor]) -> None:
        if step == self.start:
            torch.cuda.set_sync_debug_mode("error")
        elif step == self.stop:
            torch.cuda.set_sync_debug_mode("default")


@pytest.mark.parametrize("precision", ["fp32", "fp16", "bf16"])
def test_steps_between_sync_points_never_wait_for_the_host(tmp_path: Path,
                                                           precision: str) -> None:
    cfg = replace(TINY, precision=precision, regularizers=("r1", "diffaugment"), r1_every=2,
                  steps=10, log_every=10, checkpoint_every=0)
    try:
        train(cfg, tmp_path, callbacks=(NoSync(2, 9),))
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert_clean(tmp_path, 10)


def test_cuda_checkpoint_resumes_on_cuda_and_on_cpu(tmp_path: Path) -> None:
    cfg = replace(TINY, precision="fp16", regularizers=("r1",))
    train(cfg, tmp_path / "full")
    train(replace(cfg, steps=10), tmp_path / "half")
    step10 = shutil.copy(tmp_path / "half" / "last.pt", tmp_path / "step10.pt")
    saved = load_checkpoint(step10)
    train(cfg, tmp_path / "half", resume=step10)
    full, resumed = (load_checkpoint(tmp_path / d / "ckpt.pt") for d in ("full", "half"))
    assert resumed["step"] == 20 and saved["scaler"]["d"]["scale"] > 0
    # CUDA's convolution backward is not deterministic: the same run, within a drift this small
    for name, tensor in full["generator"].items():
        torch.testing.assert_close(resumed["generator"][name], tensor, rtol=0.05, atol=1e-3)
    on_cpu = train(replace(cfg, steps=12, device="cpu", precision="auto"), tmp_path / "cpu",
                   resume=step10)
    assert on_cpu.step == 12 and load_checkpoint(on_cpu.checkpoint)["precision"] == "fp32"
