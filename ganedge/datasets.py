"""Image datasets as numpy arrays, torch-free so that both training and evaluation read them.

Images come back as (N, C, S, S) float32 in [-1, 1]; labels as (N,) int64 or None.

Example:
    >>> data = load_dataset("digits", image_size=32)      # doctest: +SKIP
    >>> data.images.shape, data.labels.shape              # doctest: +SKIP
    ((1797, 1, 32, 32), (1797,))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from ganedge.errors import InputError, MissingExtraError

BUILTIN = ("digits",)


@dataclass(frozen=True)
class ImageDataset:
    """Images (N, C, S, S) float32 in [-1, 1], optional labels (N,) int64, and their names."""

    images: np.ndarray
    labels: np.ndarray | None
    class_names: tuple[str, ...]
    skipped: int = 0  # unreadable files left out

    @property
    def num_classes(self) -> int:
        """Number of classes, 0 when unlabeled."""
        return len(self.class_names) if self.labels is not None else 0


def load_digits(image_size: int = 32) -> ImageDataset:
    """scikit-learn's 1,797 8×8 handwritten digits (white on black), resized bilinearly."""
    try:
        from sklearn.datasets import load_digits as sk_load_digits
    except ImportError:
        raise MissingExtraError(
            "the digits dataset needs scikit-learn: pip install 'ganedge[train]'"
        ) from None
    digits = sk_load_digits()
    # pixel values are 0..16
    small = (digits.images / 16.0).astype(np.float32)
    images = np.stack([_resize(img, image_size) for img in small])[:, None]
    return ImageDataset(images * 2 - 1, digits.target.astype(np.int64),
                        tuple(str(d) for d in range(10)))


def load_dataset(spec: str, image_size: int, channels: int | None = None) -> ImageDataset:
    """A dataset by name (``digits``); ``channels`` (if given) must match the data's."""
    if spec != "digits":
        raise InputError(f"--data: unknown dataset {spec!r}: choose one of {list(BUILTIN)}")
    data = load_digits(image_size)
    if channels is not None and channels != data.images.shape[1]:
        raise InputError(
            f"channels: {spec} has {data.images.shape[1]} channel(s) (got {channels}); match it"
        )
    return data


def _resize(image: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of one (H, W) float image in [0, 1] to (size, size)."""
    resized = Image.fromarray(image, mode="F").resize((size, size), Image.Resampling.BILINEAR)
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)
