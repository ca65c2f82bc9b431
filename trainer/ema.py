"""Exponential moving average of generator weights (Karras et al. 2018; Yazıcı et al. 2019)."""

from __future__ import annotations

import copy

import torch
from torch import nn


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
