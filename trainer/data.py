"""Training data as tensors, read through the torch-free :mod:`ganedge.io.datasets`, and a stateless
epoch sampler: batch ``b`` is a function of (seed, b) alone, so resuming needs no sampler state."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ganedge.errors import ConfigError, InputError
from ganedge.io.datasets import load_dataset as load_numpy_dataset


@dataclass(frozen=True)
class TensorData:
    """Images (N, C, S, S) float32 in [-1, 1], labels (N,) int64 or None, and the class count."""

    images: torch.Tensor
    labels: torch.Tensor | None
    num_classes: int


def load_dataset(spec: str, image_size: int, channels: int | None = None) -> TensorData:
    """The dataset ``spec`` names (see ganedge.io.datasets.load_dataset) as tensors."""
    try:
        data = load_numpy_dataset(spec, image_size, channels)
    except InputError as exc:
        # the spec is the training config's dataset
        raise (exc.for_param("dataset") if exc.param == "data" else exc) from None
    labels = torch.from_numpy(data.labels) if data.labels is not None else None
    return TensorData(torch.from_numpy(data.images), labels, data.num_classes)


def to_device(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A host tensor on ``device`` without waiting for it: to a GPU through pinned memory and an
    asynchronous copy (a plain copy from pageable memory waits for the device's queue to drain,
    which would cost a host–device round trip per step); the CPU gets the tensor itself."""
    if device.type == "cpu":
        return tensor
    return tensor.pin_memory().to(device, non_blocking=True)


def batch_indices(n: int, batch_size: int, batch: int, seed: int, rank: int = 0,
                  world: int = 1) -> torch.Tensor:
    """Indices (batch_size,) of global batch number ``batch`` for process ``rank``.

    Each epoch is a seeded permutation cut into batches of batch_size·world; rank r takes every
    world-th index of its batch, so processes see disjoint data (DistributedSampler's split).
    """
    per_batch = batch_size * world
    if per_batch > n:
        raise ConfigError(f"{batch_size} × {world} process(es) exceeds the "
                          f"dataset's {n} images: lower it", param="batch_size")
    per_epoch = n // per_batch
    epoch, pos = divmod(batch, per_epoch)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))
    return perm[pos * per_batch:(pos + 1) * per_batch][rank::world]
