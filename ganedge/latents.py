"""Seeded latents: one seed always maps to the same latent vector, and so to the same image.

Example:
    >>> z = latents_for_seeds([0, 1, 2], latent_dim=64)
    >>> z.shape, z.dtype
    ((3, 64), dtype('float32'))
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ganedge.errors import InputError


def latent_for_seed(seed: int, latent_dim: int) -> np.ndarray:
    """The (latent_dim,) float32 standard-normal latent of one seed (numpy PCG64)."""
    if seed < 0:
        raise InputError(f"seed: must be >= 0 (got {seed})")
    rng = np.random.Generator(np.random.PCG64(seed))
    # float64 draws cast to float32 so the stream does not depend on numpy's float32 sampler
    return rng.standard_normal(latent_dim).astype(np.float32)


def latents_for_seeds(seeds: Sequence[int], latent_dim: int) -> np.ndarray:
    """The (len(seeds), latent_dim) float32 latents, one row per seed, independent of batching."""
    out = np.empty((len(seeds), latent_dim), dtype=np.float32)
    for row, seed in enumerate(seeds):
        out[row] = latent_for_seed(int(seed), latent_dim)
    return out


def parse_seeds(spec: str) -> list[int]:
    """Parse a seed list like ``0-63,100,200-209`` (ranges inclusive) into seeds, in order."""
    seeds: list[int] = []
    for part in spec.split(","):
        part = part.strip()
        low, sep, high = part.partition("-")
        try:
            start = int(low)
            stop = int(high) if sep else start
        except ValueError:
            raise InputError(
                f"--seeds: {part!r} is not a seed or range: use e.g. 0-63,100,200-209"
            ) from None
        if start < 0 or stop < start:
            raise InputError(f"--seeds: range {part!r} must be non-negative and ascending")
        seeds.extend(range(start, stop + 1))
    return seeds
