"""GAN losses as pure functions of discriminator logits, in a registry.

Each entry is a pair: ``d_loss(real_logits, fake_logits)`` and ``g_loss(fake_logits)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from trainer.registry import Registry


@dataclass(frozen=True)
class GanLoss:
    """The discriminator's and the generator's objective, both to be minimised."""

    d_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    g_loss: Callable[[torch.Tensor], torch.Tensor]


LOSSES: Registry[GanLoss] = Registry("loss")


def _d_logistic(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    # -log σ(real) - log(1 - σ(fake)), written with softplus for stability
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def _g_nonsaturating(fake: torch.Tensor) -> torch.Tensor:
    # -log σ(fake): Goodfellow et al.'s non-saturating generator loss
    return F.softplus(-fake).mean()


LOSSES.register("nonsaturating")(GanLoss(_d_logistic, _g_nonsaturating))
