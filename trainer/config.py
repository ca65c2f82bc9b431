"""Typed, frozen configs for architectures and training runs, with named presets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from ganedge.contract import reject_unknown_fields
from ganedge.errors import ConfigError

PRECISIONS = ("auto", "fp32", "fp16", "bf16")

ARCH_LIMITS = {"latent_dim": 1 << 16, "base_channels": 1 << 13, "num_classes": 1 << 20,
               "w_dim": 1 << 16, "mapping_layers": 64, "channel_max": 1 << 13}


@dataclass(frozen=True)
class ArchConfig:
    """Shape and width of a generator/discriminator pair."""

    latent_dim: int = 64  # length of the latent vector z
    channels: int = 1  # image channels: 1 grayscale, 3 RGB
    image_size: int = 32  # square output size; a power of two in [16, 256]
    base_channels: int = 32  # width of the last generator layer; deeper layers double it
    num_classes: int = 0  # 0: unconditional; >0: label-conditional G and projection D
    minibatch_stddev: bool = False  # D appends a batch-stddev channel (set by that regularizer)
    minibatch_kernels: int = 0  # D's learned minibatch-discrimination kernels (0: none; set by
    # the minibatch_discrimination regularizer)
    pack: int = 1  # PacGAN: D judges this many samples at once, stacked on the channel axis
    w_dim: int = 0  # StyleGAN: length of w; 0 means latent_dim
    mapping_layers: int = 8  # StyleGAN: fully connected layers of the mapping network z → w
    channel_max: int = 512  # StyleGAN: widest layer (widths double per halving up to this)

    def __post_init__(self) -> None:
        if self.latent_dim < 1:
            raise ConfigError(f"latent_dim: must be at least 1 (got {self.latent_dim})")
        if self.channels not in (1, 3):
            raise ConfigError(f"channels: must be 1 or 3 (got {self.channels})")
        size = self.image_size
        if size < 16 or size > 256 or size & (size - 1):
            raise ConfigError(f"image_size: must be a power of two in [16, 256] (got {size})")
        if self.base_channels < 1:
            raise ConfigError(f"base_channels: must be at least 1 (got {self.base_channels})")
        if self.num_classes < 0:
            raise ConfigError(f"num_classes: must be >= 0 (got {self.num_classes})")
        if self.minibatch_kernels < 0:
            raise ConfigError(f"minibatch_kernels: must be >= 0 (got {self.minibatch_kernels})")
        if self.pack < 1:
            raise ConfigError(f"pack: must be at least 1 (got {self.pack})")
        if self.w_dim < 0:
            raise ConfigError(f"w_dim: must be >= 0 (got {self.w_dim})")
        for name in ("mapping_layers", "channel_max"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}: must be at least 1 (got {getattr(self, name)})")
        # far above any real model; a config from a hostile checkpoint must not build millions of
        # layers before the size budget (trainer.checkpoint_schema) can be checked
        for name, top in ARCH_LIMITS.items():
            if getattr(self, name) > top:
                raise ConfigError(f"{name}: must be at most {top} (got {getattr(self, name)})")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run; saved as run.json and inside each checkpoint."""

    arch: str = "dcgan"  # registered architecture name
    model: ArchConfig = field(default_factory=ArchConfig)  # architecture shape (channels from data)
    loss: str = "nonsaturating"  # registered loss name
    dataset: str = "digits"  # dataset spec passed to ganedge.io.datasets.load_dataset
    conditional: bool = False  # train a label-conditional model on the dataset's labels
    steps: int = 2000  # generator updates
    batch_size: int = 64  # images per step (per process under DDP)
    lr_g: float = 2e-4  # generator Adam learning rate
    lr_d: float = 2e-4  # discriminator Adam learning rate (TTUR: differs from lr_g)
    beta1: float = 0.5  # Adam β1 (DCGAN's choice)
    beta2: float = 0.999  # Adam β2
    n_critic: int = 1  # discriminator updates per generator update
    ema: float = 0.999  # generator EMA decay; 0 disables the EMA generator
    regularizers: tuple[str, ...] = ()  # registered regularizer names, applied in order
    gp_weight: float = 10.0  # λ of wgan_gp
    r1_gamma: float = 1.0  # γ of r1
    r1_every: int = 16  # lazy R1: penalty every this many D steps, scaled up to match
    pl_weight: float = 2.0  # weight of path_length (StyleGAN2's path-length regularization)
    pl_every: int = 4  # lazy path_length: every this many G steps, scaled up to match
    clip_value: float = 0.01  # bound of weight_clipping
    label_smoothing: float = 0.1  # real target becomes 1 - this with label_smoothing
    diffaugment: str = "color,translation,cutout"  # DiffAugment policy
    fm_weight: float = 1.0  # λ of feature_matching (G term)
    mbd_kernels: int = 50  # kernels B of minibatch_discrimination (each of dimension 5)
    ha_weight: float = 0.01  # λ of historical_averaging (G and D terms)
    pack: int = 1  # PacGAN: D judges this many samples at once (1: off); divides batch_size
    seed: int = 0  # seeds init, data order, latents and augmentation
    device: str = "auto"  # "auto" (CUDA if available), "cpu" or "cuda"
    precision: str = "auto"  # fp32, fp16 (autocast + a GradScaler per network), bf16 (autocast)
    # or auto: bf16 on a CUDA device that supports it, else fp16 there; fp32 on the CPU
    log_every: int = 50  # steps between health records in health.jsonl (0: never)
    sample_every: int = 500  # steps between fixed-latent sample grids (0: only at the end)
    checkpoint_every: int = 500  # steps between last.pt/ckpt.pt checkpoints (0: only at the end)
    logger: str = "csv"  # registered metric logger: csv (metrics.csv), tensorboard, none
    best_metric: str = ""  # metric (reported by callbacks) choosing best.pt; "" writes none
    best_mode: str = "min"  # "min" or "max": which way best_metric improves
    collapse_ratio: float = 0.2  # warn when diversity < this × the data's and the peak's
    max_rollbacks: int = 3  # NaN/Inf rollbacks before giving up
    rollback_lr_factor: float = 0.5  # learning rates are multiplied by this on each rollback

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "n_critic", "r1_every", "pl_every", "mbd_kernels",
                     "pack"):
            if getattr(self, name) < 1:
                raise ConfigError(f"must be at least 1 (got {getattr(self, name)})", param=name)
        for name in ("lr_g", "lr_d", "gp_weight", "r1_gamma", "clip_value", "pl_weight",
                     "fm_weight", "ha_weight"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"must be positive (got {getattr(self, name)})", param=name)
        for name in ("log_every", "sample_every", "checkpoint_every", "max_rollbacks"):
            if getattr(self, name) < 0:
                raise ConfigError(f"must be >= 0 (got {getattr(self, name)})", param=name)
        if not (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            raise ConfigError(f"beta1/beta2: must be in [0, 1) (got {self.beta1}, {self.beta2})")
        if not 0 <= self.ema < 1:
            raise ConfigError(f"must be in [0, 1) (got {self.ema})", param="ema")
        if not 0 < self.label_smoothing < 0.5:
            raise ConfigError(f"must be in (0, 0.5) (got {self.label_smoothing})",
                              param="label_smoothing")
        if not 0 < self.rollback_lr_factor < 1:
            raise ConfigError(f"rollback_lr_factor: must be in (0, 1) "
                              f"(got {self.rollback_lr_factor})")
        if self.batch_size % self.pack:
            raise ConfigError(f"must divide batch_size {self.batch_size} (got {self.pack})",
                              param="pack")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"must be auto, cpu or cuda (got {self.device!r})", param="device")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"must be one of {', '.join(PRECISIONS)} (got {self.precision!r})",
                              param="precision")
        if self.best_mode not in ("min", "max"):
            raise ConfigError(f"must be min or max (got {self.best_mode!r})", param="best_mode")

    def to_dict(self) -> dict[str, Any]:
        """A JSON- and checkpoint-safe dict (nested model config included)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Rebuild from :meth:`to_dict` output."""
        data = upgrade(data)
        reject_unknown_fields(cls, data, ConfigError("training config: unknown fields {unknown}"))
        data["model"] = ArchConfig(**data.get("model", {}))
        data["regularizers"] = tuple(data.get("regularizers", ()))
        return cls(**data)


def upgrade(data: Mapping[str, Any]) -> dict[str, Any]:
    """A saved training config in today's fields: ``amp`` (a bool, before ``precision`` existed)
    becomes ``precision`` — on, the device's default ("auto"); off, "fp32"."""
    data = dict(data)
    if "amp" in data:
        amp = data.pop("amp")
        if not isinstance(amp, bool):
            raise ConfigError(f"must be true or false (got {amp!r})", param="amp")
        data.setdefault("precision", "auto" if amp else "fp32")
    return data


PRESETS: dict[str, TrainConfig] = {
    # the bundled model: under 5 minutes on 2 CPU cores to FD < 2× the real-vs-real floor. Lazy
    # R1 (γ 1) is what got there: without it every variant tried (hinge + spectral norm,
    # DiffAugment, TTUR, wider, longer) stalled at 3-5× the floor, precision ~0.7 (README)
    "digits-dcgan": TrainConfig(model=ArchConfig(base_channels=16), steps=6500, lr_g=2e-4,
                                lr_d=2e-4, ema=0.999, regularizers=("r1",), r1_gamma=1.0,
                                sample_every=500, checkpoint_every=1000),
    # 1,000-mode stacked digits: 1,000/1,000 modes, KL 0.068 to uniform, ~13.6 min on 2 cores.
    # Lazy R1 again; PacGAN 2 on top reached 1,000 modes too but with KL 0.085 and FD 5.7 vs 3.7
    "stacked-digits": TrainConfig(model=ArchConfig(base_channels=32), dataset="stacked-digits",
                                  steps=8000, ema=0.999, regularizers=("r1",), r1_gamma=1.0,
                                  sample_every=1000, checkpoint_every=2000),
    # StyleGAN2 narrowed for CPU (16 channels at 32×32, 64 at most; 2 mapping layers as NVlabs'
    # CIFAR config); NVlabs' optimizer (lr 0.0025, β = (0, 0.99)); lazy R1 γ 1 (γ 0.1 left the
    # class KL at 0.07, README)
    "digits-stylegan2": TrainConfig(arch="stylegan2",
                                    model=ArchConfig(base_channels=16, channel_max=64,
                                                     mapping_layers=2),
                                    regularizers=("r1",), r1_gamma=1.0, lr_g=0.0025, lr_d=0.0025,
                                    beta1=0.0, beta2=0.99, batch_size=32, steps=2500, ema=0.995,
                                    sample_every=250, checkpoint_every=500),
    # upsample + 3×3 conv only: the operators edge runtimes run fastest
    "digits-edge": TrainConfig(arch="resize_conv", model=ArchConfig(base_channels=16), steps=1500,
                               ema=0.995, sample_every=250, checkpoint_every=500),
}


def preset(name: str, **overrides: Any) -> TrainConfig:
    """A named preset with field overrides applied (None values are ignored)."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}: choose one of {sorted(PRESETS)}",
                          param="preset")
    return replace(PRESETS[name], **{k: v for k, v in overrides.items() if v is not None})


TRAINER_METRICS = {"diversity": "max"}  # reported by the loop itself → the mode that improves it


def resolve(base: TrainConfig, changes: Mapping[str, Any], eval_every: int = 0,
            eval_metrics: Mapping[str, str] | None = None) -> TrainConfig:
    """``base`` (a preset, or a resumed run's config) with ``changes`` applied.

    ``changes`` maps TrainConfig or ArchConfig field names to values; None means "keep". With
    evaluation every ``eval_every`` steps (``eval_metrics``: metric → improving mode, as the
    eval callback reports them), best.pt follows ``fd`` unless a best metric is given, and
    checkpoints fall on evaluation steps.

    Example:
        >>> resolve(preset("digits-dcgan"), {"steps": 10, "latent_dim": 16}).model.latent_dim
        16
    """
    # a field of both (pack) is the run's: the loop hands it to the architecture
    arch_fields = {f.name for f in fields(ArchConfig)} - {f.name for f in fields(TrainConfig)}
    given = {k: v for k, v in changes.items() if v is not None}
    reject_unknown_fields(TrainConfig, {k: v for k, v in given.items() if k not in arch_fields},
                          ConfigError("unknown training settings {unknown}"))
    model = {k: given.pop(k) for k in list(given) if k in arch_fields}
    modes = {**TRAINER_METRICS, **((eval_metrics or {}) if eval_every else {})}
    if eval_every and not given.get("best_metric", base.best_metric):
        given["best_metric"] = "fd"
    if "best_metric" in given:
        _check_metric(given["best_metric"], modes, eval_metrics or {})
        given.setdefault("best_mode", modes[given["best_metric"]])
    every = given.get("checkpoint_every", base.checkpoint_every)
    if eval_every and "checkpoint_every" not in given and (not every or eval_every % every):
        given["checkpoint_every"] = eval_every
    return replace(base, model=replace(base.model, **model), **given)


def _check_metric(metric: str, modes: Mapping[str, str], eval_metrics: Mapping[str, str]) -> None:
    if metric in modes:
        return
    if metric in eval_metrics:
        raise ConfigError(f"{metric} comes from evaluation: set `eval_every`", param="best_metric")
    raise ConfigError(f"unknown metric {metric!r}: choose one of {sorted(modes)}",
                      param="best_metric")
