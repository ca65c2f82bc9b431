"""Discriminator regularizers in a registry: each hooks one or more points of the training step.

An entry is a class built from the TrainConfig; hooks it does not override do nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ganedge.errors import ConfigError
from trainer.augment import diff_augment, parse_policy
from trainer.config import ArchConfig, TrainConfig
from trainer.data import to_device
from trainer.losses import GanLoss
from trainer.registry import Registry

Tensor = torch.Tensor
Critic = Callable[[Tensor], Tensor]  # images (B, C, H, W) → logits (B,)


class Regularizer:
    """Base: every hook is a no-op."""

    needs_real_in_g = False  # feature_penalty reads the (augmented) real batch

    def __init__(self, cfg: TrainConfig) -> None:
        self.cfg = cfg

    def check(self, loss: GanLoss) -> None:
        """Raise ConfigError if this regularizer does not fit the loss."""

    def arch(self, cfg: ArchConfig) -> ArchConfig:
        """Structural change to the architecture config (e.g. an extra D layer)."""
        return cfg

    def discriminator(self, disc: nn.Module) -> nn.Module:
        """Change the freshly built discriminator (e.g. reparametrize its weights)."""
        return disc

    def augment(self, x: Tensor, gen: torch.Generator) -> Tensor:
        """Transform images, real and fake alike, before the discriminator sees them."""
        return x

    def penalty(self, critic: Critic, real: Tensor, fake: Tensor, d_step: int,
                gen: torch.Generator) -> Tensor | None:
        """An extra discriminator loss term, or None this step."""
        return None

    def after_d_step(self, disc: nn.Module) -> None:
        """Act on the discriminator right after its optimizer step."""

    def g_penalty(self, generator: nn.Module, labels: Tensor | None, g_step: int,
                  gen: torch.Generator) -> Tensor | None:
        """An extra generator loss term, or None this step."""
        return None

    def real_label(self) -> float:
        """Target for real images in target-based losses."""
        return 1.0

    def bind(self, gen: nn.Module, disc: nn.Module) -> None:
        """See the built (unwrapped) models once, before training starts."""

    def feature_penalty(self, features: Critic, real: Tensor, fake: Tensor) -> Tensor | None:
        """An extra generator loss term on D's features, or None; ``features`` maps images
        (B, C, H, W) to D's intermediate features (B', F); ``real`` and ``fake`` are augmented
        like D sees them."""
        return None

    def after_g_step(self, gen: nn.Module) -> None:
        """Act on the generator right after its optimizer step."""

    def state_dict(self) -> dict[str, Any]:
        """State that an exact resume needs (saved in the checkpoint)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` output."""


REGULARIZERS: Registry[type[Regularizer]] = Registry("regularizer", "ganedge.regularizers")


def full_precision(like: Tensor) -> torch.autocast:
    """Autocast off on ``like``'s device: a gradient penalty squares and sums gradients, which
    overflows fp16 (max 65504) and loses digits in bf16, so it is computed in fp32 whatever
    precision the training step runs in. Its gradient comes from ``autograd.grad`` of the
    unscaled output; the loss scaler (fp16) scales the total loss, penalty included, only for the
    backward pass, so the penalty needs no unscaling of its own."""
    return torch.autocast(like.device.type, enabled=False)


@REGULARIZERS.register("wgan_gp")
class GradientPenalty(Regularizer):
    """λ·E[(‖∇D(x̂)‖ - 1)²] at random interpolates x̂ of real and fake (Gulrajani et al. 2017)."""

    def penalty(self, critic: Critic, real: Tensor, fake: Tensor, d_step: int,
                gen: torch.Generator) -> Tensor:
        alpha = to_device(torch.rand(real.shape[0], 1, 1, 1, generator=gen), real.device)
        with full_precision(real):
            x = (alpha * real.float() + (1 - alpha) * fake.detach().float()).requires_grad_(True)
            (grad,) = torch.autograd.grad(critic(x).float().sum(), x, create_graph=True)
            return self.cfg.gp_weight * ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


@REGULARIZERS.register("r1")
class LazyR1(Regularizer):
    """γ/2·E[‖∇D(real)‖²] every r1_every D steps, scaled by r1_every (Mescheder 2018; StyleGAN2)."""

    def penalty(self, critic: Critic, real: Tensor, fake: Tensor, d_step: int,
                gen: torch.Generator) -> Tensor | None:
        if d_step % self.cfg.r1_every:
            return None
        with full_precision(real):
            x = real.detach().float().requires_grad_(True)
            (grad,) = torch.autograd.grad(critic(x).float().sum(), x, create_graph=True)
            return self.cfg.r1_gamma / 2 * grad.pow(2).flatten(1).sum(1).mean() * self.cfg.r1_every


@REGULARIZERS.register("path_length")
class PathLength(Regularizer):
    """StyleGAN2's path-length penalty (Karras et al. 2020): a fixed step in W should move the
    image by a fixed amount, E[(‖J_wᵀ y‖ − a)²] with y ~ N(0, 1/(H·W)) and a the running mean of
    the lengths; on half a batch every pl_every G steps, scaled by pl_every. Needs a generator
    with ``mapping`` and ``synthesis`` (stylegan2). The running mean is not checkpointed: a
    resumed run restarts it at 0."""

    def __init__(self, cfg: TrainConfig) -> None:
        super().__init__(cfg)
        self.pl_mean = torch.zeros([])  # the running mean a, decay 0.01 as NVlabs

    def g_penalty(self, generator: nn.Module, labels: Tensor | None, g_step: int,
                  gen: torch.Generator) -> Tensor | None:
        if g_step % self.cfg.pl_every:
            return None
        if not (hasattr(generator, "mapping") and hasattr(generator, "synthesis")):
            raise ConfigError("path_length needs a mapping + synthesis generator (stylegan2)",
                              param="regularizers")
        device = next(generator.parameters()).device
        batch = max(1, self.cfg.batch_size // 2)
        z = to_device(torch.randn(batch, generator.z_dim, generator=gen), device)
        with full_precision(z):
            ws = generator.mapping(z, None if labels is None else labels[:batch],
                                   update_w_avg=False)
            images = generator.synthesis(ws).float()
            y = to_device(torch.randn(images.shape, generator=gen), device)
            y = y / (images[0, 0].numel() ** 0.5)
            (grad,) = torch.autograd.grad((images * y).sum(), ws, create_graph=True)
            lengths = grad.square().sum(2).mean(1).sqrt()  # (batch,)
        self.pl_mean = self.pl_mean.to(device).lerp(lengths.mean().detach(), 0.01)
        return self.cfg.pl_weight * self.cfg.pl_every * (lengths - self.pl_mean).square().mean()


@REGULARIZERS.register("weight_clipping")
class WeightClipping(Regularizer):
    """Clamp every D parameter to ±clip_value after each step (the original WGAN)."""

    @torch.no_grad()
    def after_d_step(self, disc: nn.Module) -> None:
        for p in disc.parameters():
            p.clamp_(-self.cfg.clip_value, self.cfg.clip_value)


@REGULARIZERS.register("spectral_norm")
class SpectralNorm(Regularizer):
    """Spectral normalisation of every D conv and linear weight (Miyato et al. 2018)."""

    def discriminator(self, disc: nn.Module) -> nn.Module:
        for module in list(disc.modules()):
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                spectral_norm(module)
        return disc


@REGULARIZERS.register("minibatch_stddev")
class MinibatchStd(Regularizer):
    """D sees the batch's feature stddev as one extra channel, so a collapsed G is easy to spot."""

    def arch(self, cfg: ArchConfig) -> ArchConfig:
        return replace(cfg, minibatch_stddev=True)


@REGULARIZERS.register("label_smoothing")
class LabelSmoothing(Regularizer):
    """One-sided label smoothing: the real target becomes 1 - label_smoothing (Salimans 2016)."""

    def check(self, loss: GanLoss) -> None:
        if not loss.smoothable:
            raise ConfigError("label_smoothing needs a loss with targets "
                              "(minimax, nonsaturating, least_squares, relativistic_average)",
                              param="regularizers")

    def real_label(self) -> float:
        return 1.0 - self.cfg.label_smoothing


@REGULARIZERS.register("diffaugment")
class DiffAugment(Regularizer):
    """Differentiable augmentation of real and fake images (Zhao et al. 2020)."""

    def __init__(self, cfg: TrainConfig) -> None:
        super().__init__(cfg)
        self.policy = parse_policy(cfg.diffaugment)

    def augment(self, x: Tensor, gen: torch.Generator) -> Tensor:
        return diff_augment(x, self.policy, gen)


@REGULARIZERS.register("feature_matching")
class FeatureMatching(Regularizer):
    """G also matches the batch mean of D's last body features on real data:
    fm_weight·‖E f(real) - E f(fake)‖² (Salimans et al. 2016, "Improved Techniques for Training
    GANs", §3.1). G chases the statistics of the data rather than whatever fools D most now."""

    needs_real_in_g = True

    def bind(self, gen: nn.Module, disc: nn.Module) -> None:
        if not callable(getattr(disc, "features", None)):
            raise ConfigError(f"{type(disc).__name__} exposes no features(x) to match: use an "
                              "architecture built on trainer.models.layers.Discriminator",
                              param="regularizers")

    def feature_penalty(self, features: Critic, real: Tensor, fake: Tensor) -> Tensor:
        target = features(real).detach().float().mean(0)
        return self.cfg.fm_weight * (features(fake).float().mean(0) - target).pow(2).sum()


@REGULARIZERS.register("minibatch_discrimination")
class MinibatchDiscrimination(Regularizer):
    """D sees, per sample, mbd_kernels learned closeness measures to the rest of its batch
    (Salimans et al. 2016, §3.2); see trainer.models.layers.MinibatchDiscrimination."""

    def arch(self, cfg: ArchConfig) -> ArchConfig:
        return replace(cfg, minibatch_kernels=self.cfg.mbd_kernels)

    def discriminator(self, disc: nn.Module) -> nn.Module:
        if getattr(disc, "mbdisc", None) is None:
            raise ConfigError(f"{type(disc).__name__} has no minibatch-discrimination layer: use "
                              "an architecture built on trainer.models.layers.Discriminator",
                              param="regularizers")
        return disc


@REGULARIZERS.register("historical_averaging")
class HistoricalAveraging(Regularizer):
    """ha_weight·‖θ - (1/t)Σ_{i<t} θ_i‖² on both players' parameters (Salimans et al. 2016,
    §3.3): each is pulled toward its own past average, which damps the orbiting that keeps
    gradient play from settling. The running averages are part of the checkpoint."""

    def __init__(self, cfg: TrainConfig) -> None:
        super().__init__(cfg)
        self.avg: dict[str, list[Tensor]] = {}
        self.count = {"g": 0, "d": 0}
        self.models: dict[str, nn.Module] = {}

    def bind(self, gen: nn.Module, disc: nn.Module) -> None:
        self.models = {"g": gen, "d": disc}
        for key, model in self.models.items():
            self.avg[key] = [p.detach().clone() for p in model.parameters()]
            self.count[key] = 1

    def _pull(self, key: str) -> Tensor:
        params = list(self.models[key].parameters())
        return self.cfg.ha_weight * sum((p - a).pow(2).sum() for p, a in zip(params, self.avg[key]))

    @torch.no_grad()
    def _update(self, key: str) -> None:
        self.count[key] += 1
        for p, a in zip(self.models[key].parameters(), self.avg[key]):
            a.add_((p - a) / self.count[key])

    def penalty(self, critic: Critic, real: Tensor, fake: Tensor, d_step: int,
                gen: torch.Generator) -> Tensor:
        return self._pull("d")

    def g_penalty(self, generator: nn.Module, labels: Tensor | None, g_step: int,
                  gen: torch.Generator) -> Tensor:
        return self._pull("g")

    def after_d_step(self, disc: nn.Module) -> None:
        self._update("d")

    def after_g_step(self, gen: nn.Module) -> None:
        self._update("g")

    def state_dict(self) -> dict[str, Any]:
        return {"avg": {k: [a.clone() for a in v] for k, v in self.avg.items()},
                "count": dict(self.count)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, saved in state.get("avg", {}).items():
            for a, b in zip(self.avg[key], saved):
                a.copy_(b)
        self.count.update(state.get("count", {}))


def build_regularizers(cfg: TrainConfig, loss: GanLoss) -> list[Regularizer]:
    """The configured regularizers, each checked against the loss."""
    regs = [REGULARIZERS.get(name)(cfg) for name in cfg.regularizers]
    for reg in regs:
        reg.check(loss)
    return regs
