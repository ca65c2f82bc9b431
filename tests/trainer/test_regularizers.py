"""Every registered regularizer does what it says."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch import nn

from ganedge.errors import ConfigError
from trainer.augment import diff_augment, parse_policy
from trainer.config import ArchConfig, TrainConfig
from trainer.losses import LOSSES
from trainer.models import build_discriminator
from trainer.regularizers import REGULARIZERS, build_regularizers

CFG = TrainConfig(model=ArchConfig(latent_dim=8, image_size=16, base_channels=4))


def reg(name: str, **fields: object):  # noqa: ANN201
    return REGULARIZERS.get(name)(replace(CFG, **fields))


def linear_critic(x: torch.Tensor) -> torch.Tensor:
    # D(x) = 2·sum(x): gradient norm is 2·sqrt(pixels) everywhere
    return 2 * x.flatten(1).sum(1)


def test_wgan_gp_value() -> None:
    real, fake = torch.ones(4, 1, 2, 2), torch.zeros(4, 1, 2, 2)
    got = reg("wgan_gp", gp_weight=10.0).penalty(linear_critic, real, fake, 0, torch.Generator())
    assert got.item() == pytest.approx(10.0 * (2 * 2 - 1) ** 2)


def test_r1_is_lazy_and_scaled() -> None:
    r1 = reg("r1", r1_gamma=2.0, r1_every=4)
    real = torch.ones(3, 1, 2, 2)
    assert r1.penalty(linear_critic, real, real, 1, torch.Generator()) is None
    got = r1.penalty(linear_critic, real, real, 8, torch.Generator())
    assert got.item() == pytest.approx(2.0 / 2 * (4 * 4) * 4)  # γ/2 · ‖2·1‖² over 4 pixels · every


def test_weight_clipping_bounds_parameters() -> None:
    disc = nn.Linear(3, 1)
    with torch.no_grad():
        disc.weight.fill_(5.0)
    reg("weight_clipping", clip_value=0.01).after_d_step(disc)
    assert disc.weight.abs().max().item() == pytest.approx(0.01)


def test_spectral_norm_bounds_the_largest_singular_value() -> None:
    disc = nn.Sequential(nn.Linear(6, 5))
    with torch.no_grad():
        disc[0].weight.mul_(50)
    reg("spectral_norm").discriminator(disc)
    for _ in range(30):  # power iteration runs in training-mode forwards
        disc(torch.randn(2, 6))
    assert torch.linalg.matrix_norm(disc[0].weight, 2).item() == pytest.approx(1.0, abs=1e-3)


def test_minibatch_stddev_adds_a_channel_that_sees_the_batch() -> None:
    arch = reg("minibatch_stddev").arch(CFG.model)
    disc = build_discriminator("dcgan", arch)
    same = torch.zeros(4, 1, 16, 16)
    varied = torch.randn(4, 1, 16, 16)
    assert arch.minibatch_stddev and disc.head.in_features == (8 + 1) * 16
    assert disc.mbstd(disc.body(same))[:, -1].abs().max() < 1e-3
    assert disc.mbstd(disc.body(varied))[:, -1].min() > 1e-3


def test_label_smoothing_sets_target_and_refuses_targetless_losses() -> None:
    smoothing = reg("label_smoothing", label_smoothing=0.1)
    assert smoothing.real_label() == pytest.approx(0.9)
    with pytest.raises(ConfigError, match="label_smoothing"):
        build_regularizers(replace(CFG, regularizers=("label_smoothing",), loss="hinge"),
                           LOSSES.get("hinge"))


def test_diffaugment_is_seeded_differentiable_and_changes_images() -> None:
    x = torch.rand(4, 3, 16, 16, requires_grad=True)
    policy = parse_policy("color,translation,cutout")
    a = diff_augment(x, policy, torch.Generator().manual_seed(1))
    b = diff_augment(x, policy, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and not torch.equal(a, x)
    a.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    d = reg("diffaugment").augment(x, torch.Generator().manual_seed(1))
    assert torch.equal(d, a)


def test_cutout_zeroes_a_quarter_of_each_image() -> None:
    x = torch.ones(2, 1, 16, 16)
    x.requires_grad_(True)
    out = diff_augment(x, ("cutout",), torch.Generator().manual_seed(0))
    out.sum().backward()
    assert torch.equal(x.grad == 0, out == 0)  # no gradient through cut pixels
    assert ((out == 0).flatten(1).sum(1) <= 64).all() and ((out == 0).flatten(1).sum(1) > 0).all()


def test_bad_policy_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="^diffaugment: "):
        parse_policy("color,blur")


TESTED = ("wgan_gp", "r1", "weight_clipping", "spectral_norm", "minibatch_stddev",
          # these three: test_countermeasures.py
          "feature_matching", "minibatch_discrimination", "historical_averaging",
          "label_smoothing", "diffaugment", "path_length")


def test_every_registered_regularizer_is_tested() -> None:
    assert set(REGULARIZERS.names()) <= set(TESTED)
