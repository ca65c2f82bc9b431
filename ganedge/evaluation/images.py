"""Bring real and generated images into one form before any feature is computed.

Both sides are quantized to uint8 exactly like a generator's output (``to_uint8_nhwc``), so
rounding never separates real from fake, and resized to the feature network's input size.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from ganedge.errors import InputError
from ganedge.io.imaging import to_uint8_nhwc

FEATURE_RESIZE = "bilinear"  # PIL filter from image size to the feature network's input size


def as_uint8_nhwc(images: np.ndarray, what: str = "images") -> np.ndarray:
    """(N, H, W, C) uint8 from uint8 NHWC or float NCHW in [-1, 1]; C must be 1 or 3."""
    images = np.asarray(images)
    if images.ndim != 4 or len(images) == 0:
        raise InputError(f"{what}: expected a non-empty 4-D batch (got shape {images.shape})")
    if images.dtype == np.uint8:
        out = images
    elif np.issubdtype(images.dtype, np.floating):
        out = to_uint8_nhwc(images)
    else:
        raise InputError(f"{what}: expected uint8 NHWC or float NCHW in [-1, 1] "
                         f"(got {images.dtype})")
    if out.shape[-1] not in (1, 3):
        raise InputError(f"{what}: expected 1 or 3 channels (got shape {images.shape}): "
                         "pass uint8 as (N, H, W, C) and float as (N, C, H, W)")
    return out


def feature_input(images: np.ndarray, size: int) -> np.ndarray:
    """(N, C, size, size) float32 in [-1, 1] from (N, H, W, C) uint8, resized bilinearly."""
    n, h, w, c = images.shape
    if (h, w) != (size, size):
        images = np.stack([_resize(image, size) for image in images])
    return images.transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1.0


def _resize(image: np.ndarray, size: int) -> np.ndarray:
    """One (H, W, C) uint8 image resized to (size, size, C)."""
    picture = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
    resized = np.asarray(picture.resize((size, size), Image.Resampling.BILINEAR))
    return resized[..., None] if resized.ndim == 2 else resized
