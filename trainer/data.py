"""Training data as tensors, read through the torch-free :mod:`ganedge.datasets`."""

from __future__ import annotations

import torch

from ganedge.datasets import load_dataset as load_numpy_dataset


def load_dataset(name: str, image_size: int, channels: int) -> torch.Tensor:
    """Images of a dataset as (N, C, S, S) float32 in [-1, 1]."""
    return torch.from_numpy(load_numpy_dataset(name, image_size, channels).images)
