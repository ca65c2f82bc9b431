"""Exponential moving average of generator weights (Karras et al. 2018; Yazıcı et al. 2019)."""

from __future__ import annotations

import copy
from collections.abc import Iterable

import torch
from torch import Tensor, nn


def make_ema(generator: nn.Module) -> nn.Module:
    """A frozen copy of ``generator`` to be updated by :func:`update_ema`."""
    return copy.deepcopy(generator).eval().requires_grad_(False)


@torch.no_grad()
def update_ema(ema: nn.Module, generator: nn.Module, decay: float) -> None:
    """ema ← decay·ema + (1 - decay)·generator for parameters; buffers (BN statistics) copied."""
    for e, p in zip(ema.parameters(), generator.parameters()):
        e.lerp_(p, 1 - decay)
    for e, b in zip(ema.buffers(), generator.buffers()):
        e.copy_(b)


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, batches: Iterable[tuple[Tensor, ...]]) -> None:
    """Re-estimate ``model``'s BatchNorm running statistics for its own weights (nothing to do,
    and no batch run, when it has none).

    The statistics :func:`update_ema` copies belong to the raw generator's weights, not to the
    averaged ones, so an EMA generator in eval mode normalizes with the wrong mean and variance.
    Running it in train mode over ``batches`` of its inputs with a cumulative average gives it
    its own ("standing statistics", Brock et al. 2019, BigGAN §3.1 / appendix).
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    momenta, training = [m.momentum for m in norms], model.training
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over all batches, not an exponential one
    model.train()
    for inputs in batches:
        model(*inputs)
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    model.train(training)
