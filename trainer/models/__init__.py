"""The architecture registry: each entry builds a matching generator and discriminator.

Every architecture takes ``ArchConfig``; ``num_classes > 0`` gives its class-conditional variant
(label embedding in G, projection discriminator). Third parties add architectures with
:func:`register_architecture` or the ``ganedge.architectures`` entry-point group.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from trainer.config import ArchConfig
from trainer.registry import Registry


@dataclass(frozen=True)
class Architecture:
    """A generator/discriminator pair; the generator maps (B, latent_dim) [+ labels] to
    (B, C, H, W) in [-1, 1]. ``build_discriminator`` is None for export-only architectures."""

    build_generator: Callable[[ArchConfig], nn.Module]
    build_discriminator: Callable[[ArchConfig], nn.Module] | None = None


ARCHITECTURES: Registry[Architecture] = Registry("architecture", "ganedge.architectures")


def register_architecture(name: str, build_generator: Callable[[ArchConfig], nn.Module],
                          build_discriminator: Callable[[ArchConfig], nn.Module] | None = None
                          ) -> Architecture:
    """Register a generator (and optionally discriminator) factory under ``name``.

    A class whose ``__init__`` takes an ArchConfig is a factory, so a user's own generator
    becomes exportable with ``register_architecture("mine", MyGenerator)``.
    """
    return ARCHITECTURES.register(name)(Architecture(build_generator, build_discriminator))


def build_generator(arch: str, cfg: ArchConfig) -> nn.Module:
    """A freshly initialised generator of the registered architecture ``arch``."""
    return ARCHITECTURES.get(arch).build_generator(cfg)


def build_discriminator(arch: str, cfg: ArchConfig) -> nn.Module:
    """A freshly initialised discriminator of the registered architecture ``arch``."""
    build = ARCHITECTURES.get(arch).build_discriminator
    if build is None:
        from ganedge.errors import ConfigError

        raise ConfigError(f"{arch!r} has no discriminator, so it cannot be trained here",
                          param="arch")
    return build(cfg)


# Importing the modules registers their architectures.
from trainer.models import dcgan, mlp, resize_conv, resnet, stylegan2  # noqa: E402,F401
