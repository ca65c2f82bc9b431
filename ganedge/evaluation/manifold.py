"""k-NN manifold estimates: precision and recall (Kynkäänniemi et al. 2019), density and
coverage (Naeem et al. 2020), computed on features in chunks so memory stays bounded.

A ball is open, as in the authors' reference code (the prdc package): a point exactly on a k-NN
ball's edge (distance == radius) is outside. So a point's own ball holds its k - 1 nearest others,
identical real and fake sets give density 1.0, and a ball of radius 0 (k + 1 duplicates) holds
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ganedge.errors import InputError

CHUNK = 2048  # rows of a distance matrix held at once


@dataclass(frozen=True)
class Manifold:
    """Precision, recall, density and coverage of fake features against real ones."""

    precision: float  # share of fakes inside some real k-NN ball (open balls, as prdc)
    recall: float  # share of reals inside some fake k-NN ball
    density: float  # mean count of real balls holding each fake, divided by k (≈1 when matched)
    coverage: float  # share of real balls that hold at least one fake


def manifold_metrics(real: np.ndarray, fake: np.ndarray, k: int) -> Manifold:
    """Manifold metrics of fake (M, F) against real (N, F) features with k nearest neighbours."""
    if min(len(real), len(fake)) <= k:
        raise InputError(f"k-NN: need more than k={k} samples on each side "
                         f"(got {len(real)} real, {len(fake)} fake)")
    real_radii = kth_neighbour_distance(real, k)
    fake_radii = kth_neighbour_distance(fake, k)
    # inside[i, j]: fake j lies strictly inside the ball of real i
    per_fake = np.zeros(len(fake), np.int64)
    real_covered = np.zeros(len(real), bool)
    recall_hits = np.zeros(len(real), bool)
    for start in range(0, len(real), CHUNK):
        d = np.sqrt(squared_distances(real[start : start + CHUNK], fake))
        inside = d < real_radii[start : start + CHUNK, None]
        per_fake += inside.sum(axis=0)
        real_covered[start : start + CHUNK] = inside.any(axis=1)
        recall_hits[start : start + CHUNK] = (d < fake_radii[None, :]).any(axis=1)
    return Manifold(precision=float((per_fake > 0).mean()), recall=float(recall_hits.mean()),
                    density=float(per_fake.sum() / (k * len(fake))),
                    coverage=float(real_covered.mean()))


def kth_neighbour_distance(x: np.ndarray, k: int) -> np.ndarray:
    """(N,) distance from each row of x to its k-th nearest other row."""
    radii = np.empty(len(x))
    for start in range(0, len(x), CHUNK):
        d = squared_distances(x[start : start + CHUNK], x)
        # column k of the sorted row: column 0 is the point itself at distance 0
        radii[start : start + CHUNK] = np.sqrt(np.partition(d, k, axis=1)[:, k])
    return radii


def squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) squared Euclidean distances, clipped at 0 against rounding."""
    d = (a * a).sum(axis=1)[:, None] + (b * b).sum(axis=1)[None, :] - 2 * a @ b.T
    return np.clip(d, 0, None)
