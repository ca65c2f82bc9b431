"""The mode-collapse countermeasures of Salimans et al. 2016 and PacGAN: each changes the
gradients it should, only when enabled, and survives an exact resume."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from ganedge.errors import ConfigError
from tests.conftest import run_cli
from trainer import TrainConfig, load_checkpoint, train
from trainer.config import ArchConfig
from trainer.loop import Trainer
from trainer.models import build_discriminator
from trainer.models.layers import MinibatchDiscrimination, pack_channels
from trainer.regularizers import REGULARIZERS

TINY = TrainConfig(model=ArchConfig(latent_dim=8, image_size=16, base_channels=4), batch_size=8,
                   steps=4, log_every=0, sample_every=0, checkpoint_every=2, ema=0.9)


def _after_one_step(cfg: TrainConfig, tmp_path: Path) -> Trainer:
    trainer = Trainer(cfg, tmp_path)
    trainer.train_step(1)
    return trainer


def _same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    """Equal parameters (BatchNorm running statistics follow every forward, so they may not)."""
    return all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))


def test_feature_matching_value_and_gradient() -> None:
    fm = REGULARIZERS.get("feature_matching")(replace(TINY, fm_weight=0.5))
    real = torch.ones(4, 1, 2, 2)
    fake = torch.zeros(4, 1, 2, 2, requires_grad=True)
    term = fm.feature_penalty(lambda x: 3 * x.flatten(1), real, fake)
    assert term.item() == pytest.approx(0.5 * 4 * 3**2)  # λ · Σ over 4 features of (3·1 - 0)²
    term.backward()
    assert torch.allclose(fake.grad, torch.full_like(fake, -0.5 * 2 * 3 * 3 / 4))
    assert fm.feature_penalty(lambda x: x.flatten(1), real, real).item() == 0


def test_feature_matching_moves_only_the_generator(tmp_path: Path) -> None:
    plain = _after_one_step(TINY, tmp_path / "a")
    fm = _after_one_step(replace(TINY, regularizers=("feature_matching",)), tmp_path / "b")
    assert _same(plain.disc, fm.disc)  # the D step is untouched
    assert not _same(plain.gen, fm.gen)


def test_minibatch_discrimination_sees_sameness_across_the_batch() -> None:
    layer = MinibatchDiscrimination(6, kernels=3)
    same = layer(torch.ones(5, 6))
    assert torch.allclose(same, torch.full((5, 3), 4.0))  # exp(0) from each of the 4 others
    apart = layer(torch.arange(5.0)[:, None].repeat(1, 6) * 1e3)
    assert apart.abs().max() < 1e-6
    x = torch.randn(5, 6, requires_grad=True)
    layer(x).sum().backward()
    assert layer.T.grad.abs().sum() > 0 and x.grad.abs().sum() > 0


def test_minibatch_discrimination_joins_any_discriminator_when_enabled(tmp_path: Path) -> None:
    mbd = REGULARIZERS.get("minibatch_discrimination")(replace(TINY, mbd_kernels=7))
    arch = mbd.arch(TINY.model)
    for name in ("dcgan", "mlp", "resnet"):
        assert build_discriminator(name, TINY.model).mbdisc is None
        disc = build_discriminator(name, arch)
        assert disc.mbdisc.kernels == 7 and disc(torch.randn(4, 1, 16, 16)).shape == (4,)
    trainer = _after_one_step(replace(TINY, regularizers=("minibatch_discrimination",)), tmp_path)
    assert trainer.disc.mbdisc.T.grad.abs().sum() > 0


@pytest.mark.slow
def test_historical_averaging_pulls_toward_the_past_average(tmp_path: Path) -> None:
    cfg = replace(TINY, regularizers=("historical_averaging",), ha_weight=0.5)
    trainer = Trainer(cfg, tmp_path)
    ha = trainer.regs[0]
    assert ha.penalty(None, None, None, 0, None).item() == 0  # θ equals its average at the start
    trainer.train_step(1)
    d_params = list(trainer.disc.parameters())
    pull = ha.penalty(None, None, None, 1, None)
    (grad,) = torch.autograd.grad(pull, [d_params[0]])
    assert torch.allclose(grad, 2 * 0.5 * (d_params[0] - ha.avg["d"][0]))
    assert ha.count == {"g": 2, "d": 2} and pull.item() > 0
    assert ha.g_penalty(None, None, 1, None) > 0
    plain = _after_one_step(TINY, tmp_path / "plain")
    assert _same(plain.disc, trainer.disc)  # no pull on the first step: θ₀ is the average
    plain.train_step(2)
    trainer.train_step(2)
    assert not _same(plain.disc, trainer.disc) and not _same(plain.gen, trainer.gen)


def test_pack_judges_samples_jointly() -> None:
    x = torch.arange(2 * 8.0).reshape(8, 1, 1, 2)
    packed = pack_channels(x, 4)
    assert packed.shape == (2, 4, 1, 2) and torch.equal(packed[1, 0], x[4, 0])
    disc = build_discriminator("dcgan", replace(TINY.model, pack=2))
    assert disc.body[0].in_channels == 2 and disc(torch.randn(8, 1, 16, 16)).shape == (4,)
    with pytest.raises(ConfigError, match="pack: must divide batch_size 8"):
        replace(TINY, pack=3)
    with pytest.raises(ConfigError, match="pack: a packed discriminator"):
        build_discriminator("dcgan", replace(TINY.model, pack=2, num_classes=10))


@pytest.mark.slow
@pytest.mark.parametrize("extra", [
    {"regularizers": ("feature_matching",)},
    {"regularizers": ("minibatch_discrimination",), "mbd_kernels": 4},
    {"regularizers": ("historical_averaging",)},
    {"pack": 2},
])
def test_countermeasure_resumes_exactly(tmp_path: Path, extra: dict) -> None:
    cfg = replace(TINY, **extra)
    train(cfg, tmp_path / "full")
    train(replace(cfg, steps=2), tmp_path / "half")
    train(cfg, tmp_path / "half", resume=tmp_path / "half" / "last.pt")
    full, resumed = (load_checkpoint(tmp_path / d / "ckpt.pt") for d in ("full", "half"))
    for key in ("generator", "discriminator"):
        for name, tensor in full[key].items():
            assert torch.equal(tensor, resumed[key][name]), f"{key}.{name} differs"
    for name, state in full["regularizers"].items():
        for key, tensors in state.get("avg", {}).items():
            saved = resumed["regularizers"][name]["avg"][key]
            assert all(torch.equal(a, b) for a, b in zip(tensors, saved))


@pytest.mark.parametrize("extra, message", [
    ({"regularizers": ("feature_matching",)}, "regularizers: StyleGAN2Discriminator exposes no"),
    ({"regularizers": ("minibatch_discrimination",)},
     "regularizers: StyleGAN2Discriminator has no"),
    ({"pack": 2}, "pack: the stylegan2 discriminator does not pack"),
])
def test_a_discriminator_without_the_hooks_is_refused(tmp_path: Path, extra: dict,
                                                      message: str) -> None:
    model = replace(TINY.model, base_channels=4, channel_max=8, mapping_layers=1)
    with pytest.raises(ConfigError, match=message):
        Trainer(replace(TINY, arch="stylegan2", model=model, **extra), tmp_path)


@pytest.mark.slow
def test_cli_pack_that_does_not_divide_the_batch_is_one_line(tmp_path: Path) -> None:
    result = run_cli("train", "--out", str(tmp_path), "--pack", "3", "--steps", "1", check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: --pack: must divide batch_size 64 (got 3)"
