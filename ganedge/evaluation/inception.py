"""Features from a local ONNX Inception file (pool3) for the classic FID; never downloads.

The file must take one image batch, NCHW (B, 3, H, W) or NHWC (B, H, W, 3) float32, and give
features as its first output, (B, F) or (B, F, 1, 1). Images are made RGB (gray repeated),
resized bilinearly to the input's H×W (299×299 when the graph leaves it open) and scaled to the
range the weights were trained for (``input_range``: "0,1" like pytorch-fid's graph, which
normalizes inside, "-1,1", or "0,255" like TF's original graph).

Example:
    >>> net = OnnxFeatures("pt_inception-2015-12-05.onnx")   # doctest: +SKIP
    >>> net(images_uint8_nhwc).shape                          # doctest: +SKIP
    (1000, 2048)
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image

from ganedge.errors import InputError
from ganedge.runtime import providers as prov
from ganedge.runtime.session import create_session

INPUT_RANGES = {"0,1": (0.0, 1.0), "-1,1": (-1.0, 1.0), "0,255": (0.0, 255.0)}
DEFAULT_SIZE = 299  # Inception-v3's input side when the graph leaves it dynamic
RESIZE_FILTER = "bilinear"
BATCH_SIZE = 32


class OnnxFeatures:
    """A feature extractor backed by a local ONNX file (Inception pool3 or a stand-in)."""

    def __init__(self, path: str | Path, input_range: str = "0,1", provider: str = "auto") -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(f"{str(self.path)!r} does not exist: give a local "
                             "Inception .onnx file (ganedge never downloads weights)",
                             param="inception")
        if input_range not in INPUT_RANGES:
            raise InputError(f"must be one of {list(INPUT_RANGES)} "
                             f"(got {input_range!r})", param="inception_range")
        self.input_range = input_range
        self.session = create_session(self.path, prov.ort_providers(provider), None)
        self.input = self.session.get_inputs()[0]
        self.nhwc, self.size = _layout(self.input.shape, self.path)
        self.digest = hashlib.sha256(self.path.read_bytes()).hexdigest()

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """(N, F) float64 features of (N, H, W, C) uint8 images, C in {1, 3}."""
        chunks = [self._run(images[i : i + BATCH_SIZE]) for i in range(0, len(images), BATCH_SIZE)]
        return np.concatenate(chunks).astype(np.float64)

    def preprocess(self, images: np.ndarray) -> np.ndarray:
        """The network's input batch from (B, H, W, C) uint8 images."""
        rgb = np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images
        if rgb.shape[1:3] != (self.size, self.size):
            rgb = np.stack([np.asarray(Image.fromarray(im).resize(
                (self.size, self.size), Image.Resampling.BILINEAR)) for im in rgb])
        low, high = INPUT_RANGES[self.input_range]
        x = rgb.astype(np.float32) / 255.0 * (high - low) + low
        return x if self.nhwc else x.transpose(0, 3, 1, 2)

    def _run(self, images: np.ndarray) -> np.ndarray:
        out = self.session.run(None, {self.input.name: self.preprocess(images)})[0]
        out = out.reshape(len(out), -1) if out.ndim == 4 and out.shape[2:] == (1, 1) else out
        if out.ndim != 2:
            raise InputError(f"first output must be (B, F) or (B, F, 1, 1) "
                             f"(got {out.shape}): export the pool3 features", param="inception")
        return out


def _layout(shape: list[object], path: Path) -> tuple[bool, int]:
    """(is NHWC, input side) from the declared input shape."""
    if len(shape) != 4 or 3 not in (shape[1], shape[3]):
        raise InputError(f"{str(path)!r} must take (B, 3, H, W) or (B, H, W, 3) "
                         f"images (got {shape})", param="inception")
    nhwc = shape[1] != 3
    side = shape[1] if nhwc else shape[2]
    return nhwc, side if isinstance(side, int) else DEFAULT_SIZE
