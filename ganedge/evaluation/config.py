"""Settings of one evaluation: splits, feature network, k-NN, KID subsets, mode thresholds."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ganedge.errors import ConfigError, InputError


@dataclass(frozen=True)
class EvalConfig:
    """How real and generated images are compared; stamped into every result's protocol."""

    seed: int = 0  # drives the real split, feature-network init and KID subsets
    real_per_split: int = 5000  # at most this many real images in each of the two real splits
    feature_size: int = 32  # images are resized to this before the feature network (bilinear)
    hidden: tuple[int, ...] = (256, 64)  # classifier hidden widths; the last one is the feature
    epochs: int = 30  # classifier training epochs over the reference split
    batch_size: int = 64  # classifier mini-batch
    learning_rate: float = 1e-3  # Adam step size
    max_shift: int = 2  # random translation (pixels at feature_size) while training
    pca_dims: int = 64  # feature dimension for unlabeled data (PCA)
    knn_k: int = 5  # k of the k-NN manifolds (precision, recall, density, coverage)
    kid_subsets: int = 50  # KID is averaged over this many random subsets
    kid_subset_size: int = 1000  # images per KID subset (capped at the smaller set)
    mode_confidence: float = 0.5  # a prediction counts toward a mode at this softmax or above
    mode_min_ratio: float = 0.2  # a mode is covered at this fraction of its real share or above
    stacked_collapse_fraction: float = 0.99  # stacked digits: collapse below this × 1,000 modes
    inception: Path | None = None  # local ONNX Inception file for FID; None: skip (never download)

    def __post_init__(self) -> None:
        for name in ("real_per_split", "feature_size", "epochs", "batch_size", "pca_dims",
                     "knn_k", "kid_subsets", "kid_subset_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"eval.{name}: must be at least 1 (got {getattr(self, name)})")
        if self.seed < 0:
            raise ConfigError(f"eval.seed: must be >= 0 (got {self.seed})")
        if not self.hidden or min(self.hidden) < 1:
            raise ConfigError(f"eval.hidden: must be positive widths (got {self.hidden})")
        if self.max_shift < 0 or self.learning_rate <= 0:
            raise ConfigError("eval.max_shift/learning_rate: must be >= 0 / > 0 "
                              f"(got {self.max_shift}, {self.learning_rate})")
        for name in ("mode_confidence", "mode_min_ratio", "stacked_collapse_fraction"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ConfigError(f"eval.{name}: must be in (0, 1] (got {getattr(self, name)})")


def check_sample_count(count: int, config: EvalConfig, param: str) -> None:
    """Raise InputError unless ``count`` generated images are enough for every figure: the k-NN
    manifolds compare each image with its ``knn_k`` nearest others, so they need knn_k + 1."""
    minimum = config.knn_k + 1
    if count < minimum:
        raise InputError(f"must be at least {minimum} (got {count}): precision, recall, density "
                         f"and coverage compare each image with its k={config.knn_k} nearest "
                         "others", param=param)
