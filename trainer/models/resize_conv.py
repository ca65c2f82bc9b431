"""The edge preset: nearest 2× upsampling + 3×3 convolutions only (no ConvTranspose, no
checkerboard artefacts, operators every edge runtime accelerates)."""

from __future__ import annotations

from torch import nn

from trainer.config import ArchConfig
from trainer.models import register_architecture
from trainer.models.dcgan import conv_discriminator
from trainer.models.layers import Generator, Reshape, init_dcgan_weights, input_dim, widths


def _up(w_in: int, w_out: int) -> list[nn.Module]:
    return [nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(w_in, w_out, 3, 1, 1, bias=False), nn.BatchNorm2d(w_out), nn.ReLU()]


def resize_conv_generator(cfg: ArchConfig) -> Generator:
    """(B, Z) → Linear → (B, W0, 4, 4) → [upsample, conv3×3] × log2(S/4) → (B, C, S, S)."""
    ws = widths(cfg)
    layers: list[nn.Module] = [nn.Linear(input_dim(cfg), ws[0] * 16, bias=False),
                               Reshape(ws[0], 4, 4), nn.BatchNorm2d(ws[0]), nn.ReLU()]
    for w_in, w_out in zip(ws, ws[1:]):
        layers += _up(w_in, w_out)
    layers += [nn.Upsample(scale_factor=2, mode="nearest"),
               nn.Conv2d(ws[-1], cfg.channels, 3, 1, 1)]
    gen = Generator(cfg, nn.Sequential(*layers))
    init_dcgan_weights(gen)
    return gen


register_architecture("resize_conv", resize_conv_generator, conv_discriminator)
