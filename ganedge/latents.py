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
                f"{part!r} is not a seed or range: use e.g. 0-63,100,200-209",
                param="seeds") from None
        if start < 0 or stop < start:
            raise InputError(f"range {part!r} must be non-negative and ascending", param="seeds")
        seeds.extend(range(start, stop + 1))
    return seeds


def check_truncation(psi: float) -> float:
    """Return ψ if it is in [0, 1], else raise InputError (ψ > 1 exaggerates, not truncates)."""
    if not 0.0 <= psi <= 1.0:
        raise InputError(
            f"ψ must be in [0, 1] (got {psi}): 1 is no truncation, 0 the mean image",
            param="truncation")
    return float(psi)


def truncate(z: np.ndarray, psi: float, mean: np.ndarray | None = None) -> np.ndarray:
    """Pull latents toward the prior's mean: z' = mean + ψ (z − mean), float32.

    For the standard-normal prior the mean is the zero vector, so z' = ψ z. ψ = 1 returns ``z``
    unchanged (the same array values, bit for bit).
    """
    psi = check_truncation(psi)
    if psi == 1.0:
        return z
    center = np.zeros(z.shape[-1], np.float32) if mean is None else mean.astype(np.float32)
    return (center + np.float32(psi) * (z - center)).astype(np.float32)


def lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Straight-line interpolation of (D,) latents a→b at times t (T,) in [0, 1]: (T, D) float32.

    t == 0 gives ``a`` and t == 1 gives ``b`` exactly, so walk keyframes equal their seeds' images.
    """
    t = np.asarray(t, np.float64)[:, None]
    path = (1.0 - t) * a.astype(np.float64) + t * b.astype(np.float64)
    return _pin_ends(path.astype(np.float32), a, b, t[:, 0])


def slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical interpolation of (D,) latents a→b at times t (T,): (T, D) float32.

    The direction moves along the great circle from a to b at constant angular speed and the
    norm moves linearly from |a| to |b|, so latents keep the norm the prior gives them (a straight
    line cuts through the low-norm interior, where a generator has rarely been trained).
    """
    t = np.asarray(t, np.float64)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    norm_a, norm_b = np.linalg.norm(a64), np.linalg.norm(b64)
    ua, ub = a64 / norm_a, b64 / norm_b
    omega = np.arccos(np.clip(ua @ ub, -1.0, 1.0))
    if omega < 1e-6:  # (nearly) the same direction: the great circle degenerates to a line
        direction = (1.0 - t)[:, None] * ua + t[:, None] * ub
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    else:
        direction = (np.sin((1.0 - t) * omega)[:, None] * ua
                     + np.sin(t * omega)[:, None] * ub) / np.sin(omega)
    norm = ((1.0 - t) * norm_a + t * norm_b)[:, None]
    return _pin_ends((direction * norm).astype(np.float32), a, b, t)


def _pin_ends(path: np.ndarray, a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    path[t == 0.0] = a
    path[t == 1.0] = b
    return path


def format_seeds(seeds: Sequence[int]) -> str:
    """The inverse of :func:`parse_seeds`: ``[0, 1, 2, 3, 100]`` → ``"0-3,100"``."""
    parts: list[str] = []
    start = prev = None
    for seed in [*seeds, None]:
        if start is not None and seed is not None and seed == prev + 1:
            prev = seed
            continue
        if start is not None:
            parts.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = seed
    return ",".join(parts)


def parse_shard(spec: str) -> tuple[int, int]:
    """Parse ``--shard i/N`` (0 <= i < N) into (i, N)."""
    index, sep, count = spec.partition("/")
    try:
        i, n = int(index), int(count)
    except ValueError:
        raise InputError(
            f"{spec!r} is not i/N: use e.g. 0/4 for the first of 4 machines",
            param="shard") from None
    if not sep or n < 1 or not 0 <= i < n:
        raise InputError(f"needs 0 <= i < N (got {spec!r}): use e.g. 0/4 … 3/4", param="shard")
    return i, n


def shard(seeds: Sequence[int], index: int, count: int) -> list[int]:
    """The ``index``-th of ``count`` contiguous, near-equal parts of ``seeds`` (may be empty)."""
    total = len(seeds)
    return list(seeds[index * total // count : (index + 1) * total // count])
