"""Image conversion and writing: model output to uint8 pixels, grids, PNG files.

Example:
    >>> import numpy as np
    >>> to_uint8_nhwc(np.zeros((2, 1, 4, 4), np.float32)).shape
    (2, 4, 4, 1)
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image

from ganedge.files import atomic_path

GRID_PADDING = 2  # pixels of black between and around grid cells


def to_uint8_nhwc(images: np.ndarray) -> np.ndarray:
    """Map (B, C, H, W) float in [-1, 1] to (B, H, W, C) uint8 in [0, 255], rounding to nearest."""
    pixels = np.rint((images.astype(np.float32) + 1.0) * 127.5)
    return np.clip(pixels, 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)


def grid_shape(n: int) -> tuple[int, int]:
    """(rows, cols) of the most square grid that holds n images, wider than tall."""
    cols = math.ceil(math.sqrt(n))
    return math.ceil(n / cols), cols


def make_grid(images: np.ndarray, cols: int | None = None) -> np.ndarray:
    """Tile (N, H, W, C) uint8 images into one (rows*(H+p)+p, cols*(W+p)+p, C) image."""
    n, h, w, c = images.shape
    cols = cols or grid_shape(n)[1]
    rows = math.ceil(n / cols)
    p = GRID_PADDING
    grid = np.zeros((rows * (h + p) + p, cols * (w + p) + p, c), dtype=np.uint8)
    for i in range(n):
        r, col = divmod(i, cols)
        top, left = p + r * (h + p), p + col * (w + p)
        grid[top : top + h, left : left + w] = images[i]
    return grid


def to_pil(image: np.ndarray) -> Image.Image:
    """A PIL image from one (H, W, C) uint8 array, C in {1, 3}."""
    return Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)


def save_png(image: np.ndarray, path: str | Path) -> Path:
    """Write one (H, W, C) uint8 image as PNG atomically (temp name in the same folder + rename)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        to_pil(image).save(tmp, format="PNG")
    return path
