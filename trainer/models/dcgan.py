"""DCGAN (Radford et al. 2016): strided ConvTranspose generator, strided Conv discriminator."""

from __future__ import annotations

import math

import torch
from torch import nn

from trainer.config import ArchConfig
from trainer.models import ARCHITECTURES, Architecture


def _widths(cfg: ArchConfig) -> list[int]:
    """Generator feature widths from the 4×4 stem to the last hidden layer, e.g. [128, 64, 32]."""
    n_up = int(math.log2(cfg.image_size)) - 2
    return [cfg.base_channels * 2 ** (n_up - 1 - i) for i in range(n_up)]


def init_dcgan_weights(module: nn.Module) -> None:
    """DCGAN's initialisation: N(0, 0.02) convolutions, N(1, 0.02) BatchNorm scales."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class DCGANGenerator(nn.Module):
    """(B, latent_dim) → (B, C, S, S) in [-1, 1]."""

    def __init__(self, cfg: ArchConfig) -> None:
        super().__init__()
        widths = _widths(cfg)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(cfg.latent_dim, widths[0], 4, 1, 0, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(inplace=True),
        ]
        for w_in, w_out in zip(widths, widths[1:]):
            layers += [nn.ConvTranspose2d(w_in, w_out, 4, 2, 1, bias=False), nn.BatchNorm2d(w_out),
                       nn.ReLU(inplace=True)]
        layers += [nn.ConvTranspose2d(widths[-1], cfg.channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_dcgan_weights(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        # (B, Z) → (B, Z, 1, 1) without reading the batch size, so tracing keeps it symbolic
        return self.net(z[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    """(B, C, S, S) → (B,) real/fake logits."""

    def __init__(self, cfg: ArchConfig) -> None:
        super().__init__()
        widths = _widths(cfg)[::-1]
        layers: list[nn.Module] = [nn.Conv2d(cfg.channels, widths[0], 4, 2, 1),
                                   nn.LeakyReLU(0.2, inplace=True)]
        for w_in, w_out in zip(widths, widths[1:]):
            layers += [nn.Conv2d(w_in, w_out, 4, 2, 1, bias=False), nn.BatchNorm2d(w_out),
                       nn.LeakyReLU(0.2, inplace=True)]
        layers += [nn.Conv2d(widths[-1], 1, 4, 1, 0)]
        self.net = nn.Sequential(*layers)
        init_dcgan_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()


ARCHITECTURES.register("dcgan")(Architecture(DCGANGenerator, DCGANDiscriminator))
