"""Fully connected GAN (Goodfellow et al. 2014): the baseline every other architecture beats."""

from __future__ import annotations

from torch import nn

from trainer.config import ArchConfig
from trainer.models import register_architecture
from trainer.models.layers import Discriminator, Generator, Reshape, disc_channels, input_dim


def _hidden(cfg: ArchConfig) -> int:
    return cfg.base_channels * 8


def mlp_generator(cfg: ArchConfig) -> Generator:
    """(B, Z) → h → 2h → C·S·S → (B, C, S, S)."""
    h, pixels = _hidden(cfg), cfg.channels * cfg.image_size**2
    body = nn.Sequential(nn.Linear(input_dim(cfg), h), nn.ReLU(), nn.Linear(h, 2 * h), nn.ReLU(),
                         nn.Linear(2 * h, pixels),
                         Reshape(cfg.channels, cfg.image_size, cfg.image_size))
    return Generator(cfg, body)


def mlp_discriminator(cfg: ArchConfig) -> Discriminator:
    """(B, C, S, S) → C·S·S → 2h → h features."""
    h, pixels = _hidden(cfg), disc_channels(cfg) * cfg.image_size**2
    body = nn.Sequential(nn.Flatten(1), nn.Linear(pixels, 2 * h), nn.LeakyReLU(0.2),
                         nn.Linear(2 * h, h), nn.LeakyReLU(0.2))
    return Discriminator(cfg, body, h, 1)


register_architecture("mlp", mlp_generator, mlp_discriminator)
