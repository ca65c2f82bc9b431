"""Built-in datasets, as (N, C, H, W) float tensors in [-1, 1]."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganedge.errors import ConfigError, MissingExtraError

DATASETS = ("digits",)


def load_digits(image_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's 1,797 8×8 handwritten digits, resized to image_size², with their labels.

    Returns images (N, 1, S, S) in [-1, 1] (white strokes on black) and labels (N,) int64.
    """
    try:
        from sklearn.datasets import load_digits as sk_load_digits
    except ImportError:
        raise MissingExtraError(
            "the digits dataset needs scikit-learn: pip install 'ganedge[train]'"
        ) from None
    digits = sk_load_digits()
    # pixel values are 0..16
    small = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    big = F.interpolate(small, size=(image_size, image_size), mode="bilinear", align_corners=False)
    return big.clamp(0, 1) * 2 - 1, torch.tensor(digits.target, dtype=torch.int64)


def load_dataset(name: str, image_size: int, channels: int) -> torch.Tensor:
    """Images of a built-in dataset as (N, C, S, S) in [-1, 1]."""
    if name != "digits":
        raise ConfigError(f"--dataset: unknown dataset {name!r}: choose one of {list(DATASETS)}")
    if channels != 1:
        raise ConfigError(f"channels: the digits dataset is grayscale, use 1 (got {channels})")
    return load_digits(image_size)[0]
