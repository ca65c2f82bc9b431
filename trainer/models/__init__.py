"""The architecture registry: each entry builds a matching generator and discriminator."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from trainer.config import ArchConfig
from trainer.registry import Registry


@dataclass(frozen=True)
class Architecture:
    """A generator/discriminator pair; the generator maps (B, latent_dim) to (B, C, H, W) in [-1, 1]."""

    build_generator: Callable[[ArchConfig], nn.Module]
    build_discriminator: Callable[[ArchConfig], nn.Module]


ARCHITECTURES: Registry[Architecture] = Registry("architecture")


def build_generator(arch: str, cfg: ArchConfig) -> nn.Module:
    """A freshly initialised generator of the registered architecture ``arch``."""
    return ARCHITECTURES.get(arch).build_generator(cfg)


def build_discriminator(arch: str, cfg: ArchConfig) -> nn.Module:
    """A freshly initialised discriminator of the registered architecture ``arch``."""
    return ARCHITECTURES.get(arch).build_discriminator(cfg)


# Importing the modules registers their architectures.
from trainer.models import dcgan  # noqa: E402,F401
