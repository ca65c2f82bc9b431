"""Mode statistics for labeled data: which classes the generator covers, and how evenly.

The classifier assigns each image the class of its highest softmax; an assignment counts toward a
mode only at ``confidence`` or above. A class is covered when its share of confident assignments
reaches ``min_ratio`` of its share of the real data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KL_EPS = 1e-6  # added to the real histogram so an unseen class does not divide by zero


@dataclass(frozen=True)
class Modes:
    """Mode coverage and class balance of one set of images."""

    covered: int  # classes covered
    num_classes: int  # classes in the real data
    missing: tuple[int, ...]  # class ids not covered
    kl: float  # KL(generated class histogram ‖ real class histogram), nats
    confident: float  # share of images assigned with confidence


def mode_stats(probabilities: np.ndarray, real_labels: np.ndarray, confidence: float,
               min_ratio: float) -> Modes:
    """Modes of images with class probabilities (N, K) against the real labels (M,)."""
    k = probabilities.shape[1]
    real_share = np.bincount(real_labels, minlength=k)[:k] / len(real_labels)
    predicted = probabilities.argmax(axis=1)
    sure = probabilities.max(axis=1) >= confidence
    sure_share = np.bincount(predicted[sure], minlength=k) / len(predicted)
    covered = (sure_share >= min_ratio * real_share) & (real_share > 0)
    fake_hist = np.bincount(predicted, minlength=k) / len(predicted)
    return Modes(covered=int(covered.sum()), num_classes=int((real_share > 0).sum()),
                 missing=tuple(int(c) for c in np.flatnonzero(~covered & (real_share > 0))),
                 kl=kl_divergence(fake_hist, real_share), confident=float(sure.mean()))


def kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p ‖ q) in nats for histograms p, q that each sum to 1; terms with p = 0 add nothing."""
    q = (q + KL_EPS) / (q + KL_EPS).sum()
    mask = p > 0
    return float((p[mask] * np.log(p[mask] / q[mask])).sum())
