"""Seeded latents: one seed always maps to the same latent vector, and so to the same image.

Example:
    >>> z = latents_for_seeds([0, 1, 2], latent_dim=64)
    >>> z.shape, z.dtype
    ((3, 64), dtype('float32'))
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import overload

import numpy as np

from ganedge.budgets import MAX_SEED, MAX_SEED_SPEC_CHARS, MAX_SEEDS, check_int
from ganedge.errors import InputError


class SeedRanges(Sequence[int]):
    """An ordered seed list held as ranges: its length, items and slices cost nothing per seed,
    so ``0-999999999`` streams a billion seeds without a billion-item list.

    >>> seeds = SeedRanges([range(0, 4), range(100, 101)])
    >>> len(seeds), seeds[4], list(seeds[3:5])
    (5, 100, [3, 100])
    """

    def __init__(self, ranges: Iterable[range]) -> None:
        self.ranges = tuple(r for r in ranges if len(r))
        self._starts = [0, *itertools.accumulate(len(r) for r in self.ranges)]

    def __len__(self) -> int:
        return self._starts[-1]

    @overload
    def __getitem__(self, index: int) -> int: ...
    @overload
    def __getitem__(self, index: slice) -> SeedRanges: ...
    def __getitem__(self, index: int | slice) -> int | SeedRanges:
        if isinstance(index, slice):
            return self._slice(*index.indices(len(self)))
        position = index + len(self) if index < 0 else index
        if not 0 <= position < len(self):
            raise IndexError(index)
        part = bisect.bisect_right(self._starts, position) - 1
        return self.ranges[part][position - self._starts[part]]

    def __iter__(self) -> Iterator[int]:
        return itertools.chain.from_iterable(self.ranges)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    def __repr__(self) -> str:
        return f"SeedRanges({format_seeds(self)!r})"

    def _slice(self, start: int, stop: int, step: int) -> SeedRanges:
        if step != 1:
            return SeedRanges(range(s, s + 1) for s in itertools.islice(self, start, stop, step))
        parts = []
        for r, offset in zip(self.ranges, self._starts):
            lo, hi = max(start - offset, 0), min(stop - offset, len(r))
            if lo < hi:
                parts.append(r[lo:hi])
        return SeedRanges(parts)


def seed_ranges(seeds: Sequence[int]) -> SeedRanges:
    """``seeds`` as a checked SeedRanges (each in [0, MAX_SEED]), without listing a range's seeds.

    Raises InputError (``param="seeds"``) for an empty list, a negative, oversized or non-integer
    seed, or more than MAX_SEEDS seeds.
    """
    if isinstance(seeds, SeedRanges):
        parts: Iterable[range] = seeds.ranges
    elif isinstance(seeds, range) and seeds.step == 1:
        parts = [seeds]
    else:
        if isinstance(seeds, (str, bytes)) or not isinstance(seeds, (Sequence, np.ndarray)):
            raise InputError(f"must be a sequence of integer seeds (got {type(seeds).__name__})",
                             param="seeds")
        check_int(len(seeds), "seeds", high=MAX_SEEDS)
        parts = [range(s, s + 1) for s in (check_int(s, "seeds") for s in seeds)]
    ranges = SeedRanges(parts)
    if not len(ranges):
        raise InputError("must name at least one seed", param="seeds")
    check_int(len(ranges), "seeds", high=MAX_SEEDS,
              hint=": split the seeds into several calls")
    for r in ranges.ranges:
        for end in (r[0], r[-1]):
            check_int(end, "seeds", 0, MAX_SEED)
    return ranges


def latent_for_seed(seed: int, latent_dim: int) -> np.ndarray:
    """The (latent_dim,) float32 standard-normal latent of one seed (numpy PCG64)."""
    check_int(seed, "seeds", 0, MAX_SEED)
    rng = np.random.Generator(np.random.PCG64(seed))
    # float64 draws cast to float32 so the stream does not depend on numpy's float32 sampler
    return rng.standard_normal(latent_dim).astype(np.float32)


def latents_for_seeds(seeds: Sequence[int], latent_dim: int) -> np.ndarray:
    """The (len(seeds), latent_dim) float32 latents, one row per seed, independent of batching."""
    check_int(latent_dim, "latent_dim", 1)
    out = np.empty((len(seeds), latent_dim), dtype=np.float32)
    for row, seed in enumerate(seeds):
        out[row] = latent_for_seed(int(seed), latent_dim)
    return out


def parse_seeds(spec: str) -> SeedRanges:
    """Parse a seed list like ``0-63,100,200-209`` (ranges inclusive) into seeds, in order.

    The result is lazy (see :class:`SeedRanges`) and checked against the seed budgets.
    """
    if len(spec) > MAX_SEED_SPEC_CHARS:
        raise InputError(f"is {len(spec):,} characters long (at most {MAX_SEED_SPEC_CHARS:,}): "
                         "use ranges like 0-9999", param="seeds")
    return seed_ranges(SeedRanges(_parse_range(part.strip()) for part in spec.split(",")))


def _parse_range(part: str) -> range:
    low, sep, high = part.partition("-")
    try:
        # int() alone would take "1_000" and " 5"; a seed list is plain digits
        if not low.isdigit() or (sep and not high.isdigit()):
            raise ValueError(part)
        start = int(low)
        stop = int(high) if sep else start
    except ValueError:
        raise InputError(f"{part!r} is not a seed or range: use e.g. 0-63,100,200-209",
                         param="seeds") from None
    if stop < start:
        raise InputError(f"range {part!r} must be ascending", param="seeds")
    return range(start, stop + 1)


def check_truncation(psi: float) -> float:
    """Return ψ if it is in [0, 1], else raise InputError (ψ > 1 exaggerates, not truncates)."""
    if isinstance(psi, bool) or not isinstance(psi, (int, float, np.floating, np.integer)) \
            or not 0.0 <= psi <= 1.0:
        raise InputError(f"ψ must be in [0, 1] (got {psi!r}): 1 is no truncation, 0 the mean "
                         "image", param="truncation")
    return float(psi)


def truncate(z: np.ndarray, psi: float, mean: np.ndarray | None = None) -> np.ndarray:
    """Pull latents toward the prior's mean: z' = mean + ψ (z − mean), float32.

    For the standard-normal prior the mean is the zero vector, so z' = ψ z. ψ = 1 returns ``z``
    unchanged (the same array values, bit for bit). ψ is checked where it enters (see
    :func:`check_truncation`), not here, once per batch.
    """
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
    parts: list[list[int]] = []  # [first, last] of each run of consecutive seeds
    for r in _runs(seeds):
        if parts and r[0] == parts[-1][1] + 1:
            parts[-1][1] = r[-1]
        else:
            parts.append([r[0], r[-1]])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in parts)


def _runs(seeds: Sequence[int]) -> Iterable[range]:
    if isinstance(seeds, SeedRanges):
        return seeds.ranges
    if isinstance(seeds, range) and seeds.step == 1:
        return [seeds] if len(seeds) else []
    return [range(int(s), int(s) + 1) for s in seeds]


def parse_shard(spec: str) -> tuple[int, int]:
    """Parse ``--shard i/N`` (0 <= i < N) into (i, N)."""
    index, sep, count = spec.partition("/")
    if not (sep and index.isdigit() and count.isdigit()):
        raise InputError(f"{spec!r} is not i/N: use e.g. 0/4 for the first of 4 machines",
                         param="shard")
    i, n = int(index), int(count)
    if n < 1 or not 0 <= i < n:
        raise InputError(f"needs 0 <= i < N (got {spec!r}): use e.g. 0/4 … 3/4", param="shard")
    return i, n


def shard(seeds: Sequence[int], index: int, count: int) -> Sequence[int]:
    """The ``index``-th of ``count`` contiguous, near-equal parts of ``seeds`` (may be empty);
    a slice, so a lazy seed list stays lazy."""
    total = len(seeds)
    return seeds[index * total // count : (index + 1) * total // count]
