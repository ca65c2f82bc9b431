"""Typed, frozen configs for architectures and training runs, with named presets."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from ganedge.errors import ConfigError


@dataclass(frozen=True)
class ArchConfig:
    """Shape and width of a generator/discriminator pair."""

    latent_dim: int = 64  # length of the latent vector z
    channels: int = 1  # image channels: 1 grayscale, 3 RGB
    image_size: int = 32  # square output size; a power of two in [16, 128]
    base_channels: int = 32  # width of the last generator layer; deeper layers double it

    def __post_init__(self) -> None:
        if self.latent_dim < 1:
            raise ConfigError(f"latent_dim: must be at least 1 (got {self.latent_dim})")
        if self.channels not in (1, 3):
            raise ConfigError(f"channels: must be 1 or 3 (got {self.channels})")
        size = self.image_size
        if size < 16 or size > 128 or size & (size - 1):
            raise ConfigError(f"image_size: must be a power of two in [16, 128] (got {size})")
        if self.base_channels < 1:
            raise ConfigError(f"base_channels: must be at least 1 (got {self.base_channels})")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run; saved as run.json and inside each checkpoint."""

    arch: str = "dcgan"  # registered architecture name
    model: ArchConfig = field(default_factory=ArchConfig)  # architecture shape
    loss: str = "nonsaturating"  # registered loss name
    dataset: str = "digits"  # built-in dataset name
    steps: int = 2000  # generator updates
    batch_size: int = 64  # images per step
    lr_g: float = 2e-4  # generator Adam learning rate
    lr_d: float = 2e-4  # discriminator Adam learning rate
    beta1: float = 0.5  # Adam β1 (DCGAN's choice)
    beta2: float = 0.999  # Adam β2
    seed: int = 0  # seeds data order, initialisation and sampling
    sample_every: int = 500  # steps between fixed-latent sample grids (0: never)

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--{name.replace('_', '-')}: must be at least 1 (got {getattr(self, name)})")
        for name in ("lr_g", "lr_d"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"--{name.replace('_', '-')}: must be positive (got {getattr(self, name)})")
        if not (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            raise ConfigError(f"beta1/beta2: must be in [0, 1) (got {self.beta1}, {self.beta2})")
        if self.sample_every < 0:
            raise ConfigError(f"sample_every: must be >= 0 (got {self.sample_every})")

    def to_dict(self) -> dict[str, Any]:
        """A JSON- and checkpoint-safe dict (nested model config included)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Rebuild from :meth:`to_dict` output."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"training config: unknown fields {unknown}")
        data = dict(data)
        data["model"] = ArchConfig(**data.get("model", {}))
        return cls(**data)


PRESETS: dict[str, TrainConfig] = {
    "digits-dcgan": TrainConfig(),
}


def preset(name: str, **overrides: Any) -> TrainConfig:
    """A named preset with field overrides applied (None values are ignored)."""
    if name not in PRESETS:
        raise ConfigError(f"--preset: unknown preset {name!r}: choose one of {sorted(PRESETS)}")
    return replace(PRESETS[name], **{k: v for k, v in overrides.items() if v is not None})
