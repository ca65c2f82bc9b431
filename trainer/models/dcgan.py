"""DCGAN (Radford et al. 2016): strided ConvTranspose generator, strided Conv discriminator."""

from __future__ import annotations

from torch import nn

from trainer.config import ArchConfig
from trainer.models import register_architecture
from trainer.models.layers import (
    Discriminator,
    Generator,
    ToMap,
    disc_channels,
    init_dcgan_weights,
    input_dim,
    widths,
)


def conv_discriminator(cfg: ArchConfig) -> Discriminator:
    """Strided 4×4 convolutions down to a 4×4 map; shared by dcgan and resize_conv."""
    ws = widths(cfg)[::-1]
    layers: list[nn.Module] = [nn.Conv2d(disc_channels(cfg), ws[0], 4, 2, 1), nn.LeakyReLU(0.2)]
    for w_in, w_out in zip(ws, ws[1:]):
        layers += [nn.Conv2d(w_in, w_out, 4, 2, 1, bias=False), nn.BatchNorm2d(w_out),
                   nn.LeakyReLU(0.2)]
    disc = Discriminator(cfg, nn.Sequential(*layers), ws[-1], 16)
    init_dcgan_weights(disc)
    return disc


def dcgan_generator(cfg: ArchConfig) -> Generator:
    """(B, Z) → 4×4 stem by a 4×4 ConvTranspose, then stride-2 ConvTranspose up to S×S."""
    ws = widths(cfg)
    layers: list[nn.Module] = [ToMap(),
                               nn.ConvTranspose2d(input_dim(cfg), ws[0], 4, 1, 0, bias=False),
                               nn.BatchNorm2d(ws[0]), nn.ReLU()]
    for w_in, w_out in zip(ws, ws[1:]):
        layers += [nn.ConvTranspose2d(w_in, w_out, 4, 2, 1, bias=False), nn.BatchNorm2d(w_out),
                   nn.ReLU()]
    layers.append(nn.ConvTranspose2d(ws[-1], cfg.channels, 4, 2, 1))
    gen = Generator(cfg, nn.Sequential(*layers))
    init_dcgan_weights(gen)
    return gen


register_architecture("dcgan", dcgan_generator, conv_discriminator)
