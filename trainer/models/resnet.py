"""SNGAN-style residual GAN (Miyato et al. 2018). Pair it with the ``spectral_norm`` regularizer
and the ``hinge`` loss, as the paper does."""

from __future__ import annotations

import torch
from torch import nn

from trainer.config import ArchConfig
from trainer.models import register_architecture
from trainer.models.layers import (
    Discriminator,
    Generator,
    Reshape,
    disc_channels,
    input_dim,
    widths,
)


class UpBlock(nn.Module):
    """BN-ReLU-up-conv-BN-ReLU-conv with an upsampled 1×1 shortcut:
    (B, i, H, W) → (B, o, 2H, 2W)."""

    def __init__(self, w_in: int, w_out: int) -> None:
        super().__init__()
        self.main = nn.Sequential(nn.BatchNorm2d(w_in), nn.ReLU(), nn.Upsample(scale_factor=2),
                                  nn.Conv2d(w_in, w_out, 3, 1, 1), nn.BatchNorm2d(w_out), nn.ReLU(),
                                  nn.Conv2d(w_out, w_out, 3, 1, 1))
        self.skip = nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(w_in, w_out, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x) + self.skip(x)


class DownBlock(nn.Module):
    """(ReLU)-conv-ReLU-conv-avgpool with a pooled 1×1 shortcut: (B, i, H, W) → (B, o, H/2, W/2)."""

    def __init__(self, w_in: int, w_out: int, first: bool) -> None:
        super().__init__()
        pre: list[nn.Module] = [] if first else [nn.ReLU()]
        self.main = nn.Sequential(*pre, nn.Conv2d(w_in, w_out, 3, 1, 1), nn.ReLU(),
                                  nn.Conv2d(w_out, w_out, 3, 1, 1), nn.AvgPool2d(2))
        self.skip = nn.Sequential(nn.Conv2d(w_in, w_out, 1), nn.AvgPool2d(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x) + self.skip(x)


def resnet_generator(cfg: ArchConfig) -> Generator:
    """(B, Z) → Linear → (B, W0, 4, 4) → UpBlock × log2(S/4) → BN-ReLU-conv3×3 → (B, C, S, S)."""
    ws = widths(cfg)
    outs = [*ws[1:], ws[-1]]
    body = nn.Sequential(nn.Linear(input_dim(cfg), ws[0] * 16), Reshape(ws[0], 4, 4),
                         *(UpBlock(i, o) for i, o in zip(ws, outs)),
                         nn.BatchNorm2d(ws[-1]), nn.ReLU(),
                         nn.Conv2d(ws[-1], cfg.channels, 3, 1, 1))
    return Generator(cfg, body)


def resnet_discriminator(cfg: ArchConfig) -> Discriminator:
    """DownBlock × log2(S/4) to a 4×4 map, ReLU, then the shared head."""
    ws = widths(cfg)[::-1]
    ins = [disc_channels(cfg), *ws[:-1]]
    blocks = [DownBlock(i, o, first=(n == 0)) for n, (i, o) in enumerate(zip(ins, ws))]
    return Discriminator(cfg, nn.Sequential(*blocks, nn.ReLU()), ws[-1], 16)


register_architecture("resnet", resnet_generator, resnet_discriminator)
