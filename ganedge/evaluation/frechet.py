"""Distances between two feature distributions: Fréchet distance and kernel inception distance.

Both work on any features (N, F): the toolkit's own feature network or Inception's pool3.
"""

from __future__ import annotations

import numpy as np

from ganedge.errors import InputError


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (F,) and unbiased covariance (F, F) of features (N, F), N >= 2."""
    if len(features) < 2:
        raise InputError(f"features: need at least 2 samples for a covariance "
                         f"(got {len(features)})")
    features = features.astype(np.float64)
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray,
                     sigma2: np.ndarray) -> float:
    """‖μ1−μ2‖² + tr(Σ1 + Σ2 − 2 (Σ1 Σ2)^½) between two Gaussians.

    tr((Σ1 Σ2)^½) is the sum of square roots of the eigenvalues of the symmetric PSD matrix
    Σ1^½ Σ2 Σ1^½ (same spectrum as Σ1 Σ2), which stays real and stable where a general sqrtm
    needs a fudge term.
    """
    root1 = _psd_sqrt(sigma1)
    middle = root1 @ sigma2 @ root1
    eigenvalues = np.linalg.eigvalsh((middle + middle.T) / 2)
    trace_sqrt = np.sqrt(np.clip(eigenvalues, 0, None)).sum()
    diff = mu1 - mu2
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt
    return float(max(value, 0.0))


def frechet_distance_features(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between the Gaussians fitted to features a (N, F) and b (M, F)."""
    return frechet_distance(*gaussian_stats(a), *gaussian_stats(b))


def kernel_distance(a: np.ndarray, b: np.ndarray, subsets: int, subset_size: int,
                    seed: int) -> tuple[float, float]:
    """KID: unbiased MMD² with kernel (x·y/F + 1)³, mean and std over random subsets.

    Each subset draws min(subset_size, N, M) rows of a and of b without replacement.
    """
    rng = np.random.default_rng(seed)
    m = min(subset_size, len(a), len(b))
    if m < 2:
        raise InputError(f"KID: need at least 2 samples on each side (got {len(a)} and {len(b)})")
    values = [_mmd2(a[rng.choice(len(a), m, replace=False)],
                    b[rng.choice(len(b), m, replace=False)])
              for _ in range(subsets)]
    return float(np.mean(values)), float(np.std(values))


def _mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD² of equal-size samples x, y (m, F) under the cubic polynomial kernel."""
    m = len(x)
    kxx, kyy, kxy = _cubic(x, x), _cubic(y, y), _cubic(x, y)
    off_diag = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return float(off_diag - 2 * kxy.mean())


def _cubic(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Kernel matrix (a·b/F + 1)³; two multiplies, as a float power is several times slower."""
    k = a @ b.T / a.shape[1] + 1
    return k * k * k


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric positive semi-definite matrix."""
    eigenvalues, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(eigenvalues, 0, None))) @ vectors.T
