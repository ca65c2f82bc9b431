"""Mixed precision on the CPU (the same code as on a GPU): fp16 with a loss scaler per network and
bf16 train, count the steps the scaler skips without calling them divergence, resume exactly,
and compute gradient penalties in fp32; configs from before `precision` (``amp``) still resume."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from ganedge.errors import ConfigError
from tests.conftest import run_cli
from trainer import TrainConfig, load_checkpoint, train
from trainer.callbacks import Callback
from trainer.checkpoint import resume_config
from trainer.config import ArchConfig
from trainer.health import DivergenceError
from trainer.loop import MAX_CONSECUTIVE_SKIPS, Trainer, resolve_precision
from trainer.models import build_discriminator, build_generator
from trainer.regularizers import REGULARIZERS

TINY = TrainConfig(model=ArchConfig(latent_dim=8, image_size=16, base_channels=4), batch_size=8,
                   steps=6, log_every=2, sample_every=0, checkpoint_every=3, ema=0.9,
                   device="cpu")
CLI_TINY = ("--image-size", "16", "--base-channels", "4", "--latent-dim", "8", "--batch-size",
            "8", "--device", "cpu")
# A penalty computed under autocast equals the fp32 one to this relative tolerance: it turns
# autocast off, so the two are the same fp32 arithmetic (bit-equal today; the tolerance leaves
# room for a reordered reduction, and is far below fp16's 1e-3 or bf16's 1e-2 resolution).
PENALTY_RTOL = 1e-6


def records(out: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (out / "health.jsonl").open()]


def test_auto_precision_per_device() -> None:
    assert resolve_precision("auto", torch.device("cpu")) == "fp32"
    assert resolve_precision("bf16", torch.device("cpu")) == "bf16"
    with pytest.raises(ConfigError, match="precision.*fp32, fp16, bf16"):
        TrainConfig(precision="fp8")


@pytest.mark.parametrize("autocast_dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("name", ["r1", "wgan_gp"])
def test_penalty_under_autocast_equals_fp32(name: str, autocast_dtype: torch.dtype) -> None:
    cfg = replace(TINY, r1_every=1)
    penalty = REGULARIZERS.get(name)(cfg)
    torch.manual_seed(0)
    disc = build_discriminator("dcgan", cfg.model)
    real, fake = torch.randn(4, 1, 16, 16), torch.randn(4, 1, 16, 16)

    def grads_and_value(autocast: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
        disc.zero_grad()
        with torch.autocast("cpu", dtype=autocast_dtype, enabled=autocast):
            value = penalty.penalty(disc, real, fake, 0, torch.Generator().manual_seed(1))
        if autocast:  # the fp16 recipe: scale for backward, unscale before use
            scaler = torch.amp.GradScaler("cpu")
            scaler.scale(value).backward()
            opt = torch.optim.SGD(disc.parameters())
            scaler.unscale_(opt)
        else:
            value.backward()
        # a parameter the penalty does not reach (D's last bias) has no gradient
        return value.detach(), [torch.zeros_like(p) if p.grad is None else p.grad.clone()
                                for p in disc.parameters()]

    (ref, ref_grads), (got, got_grads) = grads_and_value(False), grads_and_value(True)
    assert got.dtype == torch.float32 and ref.item() > 0
    torch.testing.assert_close(got, ref, rtol=PENALTY_RTOL, atol=0)
    for g, r in zip(got_grads, ref_grads):
        torch.testing.assert_close(g, r, rtol=PENALTY_RTOL, atol=1e-12)


def test_path_length_under_autocast_equals_fp32() -> None:
    cfg = replace(TINY, arch="stylegan2", pl_every=1,
                  model=ArchConfig(latent_dim=8, image_size=16, base_channels=4, channel_max=8,
                                   mapping_layers=2))
    torch.manual_seed(0)
    gen = build_generator("stylegan2", cfg.model)
    values = []
    for autocast in (False, True):
        penalty = REGULARIZERS.get("path_length")(cfg)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            values.append(penalty.g_penalty(gen, None, 1, torch.Generator().manual_seed(1)))
    assert values[1].dtype == torch.float32 and values[0].item() > 0
    torch.testing.assert_close(values[1], values[0], rtol=PENALTY_RTOL, atol=0)


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_cli_trains_in_half_precision_without_rollback(tmp_path: Path, precision: str) -> None:
    stdout = run_cli("train", "-o", str(tmp_path), "--steps", "20", "--log-every", "5",
                     "--precision", precision, *CLI_TINY).stdout
    progress = [line for line in stdout.splitlines() if line.startswith("train: ")]
    logged = records(tmp_path)
    assert [r["step"] for r in logged] == [5, 10, 15, 20]  # no rollback event among them
    assert all(r["d_loss"] == r["d_loss"] for r in logged)  # finite means, no NaN
    ckpt = load_checkpoint(tmp_path / "ckpt.pt")
    assert ckpt["precision"] == precision and ckpt["train_config"]["precision"] == precision
    if precision == "fp16":
        # the scale starts at 2^16, which overflows: the first steps are skipped and counted
        assert logged[0]["skipped_d"] + logged[0]["skipped_g"] > 0
        assert logged[0]["loss_scale_d"] < 65536
        assert ckpt["health"]["skipped"]["d"] == sum(r["skipped_d"] for r in logged)
        assert 0 < ckpt["scaler"]["d"]["scale"] < 65536
        skipped = ckpt["health"]["skipped"]
        assert progress[-1].endswith(f", skipped D {skipped['d']} G {skipped['g']}")
        assert ",skipped_d," in (tmp_path / "metrics.csv").read_text()  # the logger has them
    else:
        assert sum(r["skipped_d"] + r["skipped_g"] for r in logged) == 0
        assert ckpt["scaler"] == {"g": {}, "d": {}}  # no loss scaling in bf16
        assert "skipped" not in progress[-1]


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_resume_continues_exactly_in_half_precision(tmp_path: Path, precision: str) -> None:
    cfg = replace(TINY, precision=precision, regularizers=("r1",), r1_every=2)
    train(cfg, tmp_path / "full")
    train(replace(cfg, steps=3), tmp_path / "half")
    train(cfg, tmp_path / "half", resume=tmp_path / "half" / "last.pt")
    full, resumed = (load_checkpoint(tmp_path / d / "ckpt.pt") for d in ("full", "half"))
    for key in ("generator", "generator_ema", "discriminator"):
        for name, tensor in full[key].items():
            assert torch.equal(tensor, resumed[key][name]), f"{key}.{name} differs"
    assert full["scaler"] == resumed["scaler"]
    assert full["health"]["skipped"] == resumed["health"]["skipped"]


class InfiniteScale(Callback):
    """Sets D's loss scale to inf after every step: every D step overflows and is skipped while
    the losses stay finite."""

    def on_step_end(self, trainer: Trainer, step: int, logs: dict[str, torch.Tensor]) -> None:
        trainer.scaler_d.update(float("inf"))


def test_a_long_run_of_skipped_steps_is_divergence(tmp_path: Path) -> None:
    cfg = replace(TINY, precision="fp16", steps=MAX_CONSECUTIVE_SKIPS + 10, log_every=10,
                  checkpoint_every=0, max_rollbacks=0)
    with pytest.raises(DivergenceError, match=f"fp16 loss scaler skipped {MAX_CONSECUTIVE_SKIPS} "
                       "discriminator steps in a row .* or train in bf16 or fp32"):
        train(cfg, tmp_path, callbacks=(InfiniteScale(),))
    skipped = [r["skipped_d"] for r in records(tmp_path)]
    assert skipped == [10] * (MAX_CONSECUTIVE_SKIPS // 10 - 1)  # recorded, not yet divergence


@pytest.mark.parametrize(("amp", "precision"), [(True, "auto"), (False, "fp32")])
def test_a_checkpoint_with_the_old_amp_field_resumes(tmp_path: Path, amp: bool,
                                                     precision: str) -> None:
    train(replace(TINY, steps=2, checkpoint_every=2), tmp_path / "run")
    ckpt = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    # the format before `precision`: a bare amp flag, no precision, no skip counts
    del ckpt["train_config"]["precision"], ckpt["precision"], ckpt["health"]["skipped"]
    ckpt["train_config"]["amp"] = amp
    old = tmp_path / "old.pt"
    torch.save(ckpt, old)
    cfg = resume_config(old)  # what `ganedge train --resume` reads
    assert cfg.precision == precision
    train(replace(cfg, steps=3), tmp_path / "run", resume=old)
    assert json.loads((tmp_path / "run" / "run.json").read_text())["precision"] == precision
    assert load_checkpoint(tmp_path / "run" / "ckpt.pt")["step"] == 3
