"""The feature network the toolkit trains itself on the real data, in numpy.

Labeled data: an MLP classifier (input → hidden… → classes, ReLU) trained with Adam and random
translations; its last hidden layer is the feature space, its softmax names modes.
Unlabeled data: PCA of the pixels. Weights are cached by a hash of the data and the settings.

Example:
    >>> net = feature_network(images, labels, 10, EvalConfig())   # doctest: +SKIP
    >>> net.features(images).shape                                 # doctest: +SKIP
    (899, 64)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ganedge.evaluation import cache
from ganedge.evaluation.config import EvalConfig

ALGORITHM_VERSION = 1  # bump when training changes, so old cache entries are not reused
CACHE_KIND = "featnet"
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8
WEIGHT_DECAY = 1e-4


@dataclass(frozen=True)
class FeatureNetwork:
    """Trained weights and what they are: ``mlp`` (classifier) or ``pca``."""

    kind: str  # "mlp" or "pca"
    arrays: dict[str, np.ndarray]  # mlp: w0, b0, w1, b1, …; pca: mean, components (F, D)
    digest: str  # content hash of training data + settings (the cache key)
    cached: bool  # True when the weights came from the cache

    @property
    def num_classes(self) -> int:
        """Classes the classifier predicts; 0 for PCA."""
        return self.arrays[f"b{self._depth - 1}"].shape[0] if self.kind == "mlp" else 0

    def features(self, images: np.ndarray) -> np.ndarray:
        """(N, F) float64 features of (N, C, S, S) float32 images in [-1, 1]."""
        x = images.reshape(len(images), -1)
        if self.kind == "pca":
            return ((x - self.arrays["mean"]) @ self.arrays["components"].T).astype(np.float64)
        return _forward(self._weights, x)[-2].astype(np.float64)

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """(N, K) class probabilities of the classifier (mlp only)."""
        logits = _forward(self._weights, images.reshape(len(images), -1))[-1]
        return _softmax(logits)

    @property
    def _depth(self) -> int:
        return len(self.arrays) // 2

    @property
    def _weights(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(self.arrays[f"w{i}"], self.arrays[f"b{i}"]) for i in range(self._depth)]


def feature_network(images: np.ndarray, labels: np.ndarray | None, num_classes: int,
                    cfg: EvalConfig) -> FeatureNetwork:
    """Train (or load from cache) the feature network on (N, C, S, S) images in [-1, 1]."""
    kind = "mlp" if labels is not None and num_classes > 1 else "pca"
    settings = _settings(kind, num_classes, cfg)
    key = cache.content_hash([images] + ([labels] if kind == "mlp" else []), settings)
    stored = cache.load_arrays(CACHE_KIND, key)
    if stored is not None:
        return FeatureNetwork(kind, stored, key, cached=True)
    if kind == "mlp":
        arrays = train_classifier(images, labels, num_classes, cfg)
    else:
        arrays = fit_pca(images, cfg.pca_dims)
    cache.save_arrays(CACHE_KIND, key, arrays)
    return FeatureNetwork(kind, arrays, key, cached=False)


def fit_pca(images: np.ndarray, dims: int) -> dict[str, np.ndarray]:
    """Mean (D,) and top principal directions (F, D) of the flattened images."""
    x = images.reshape(len(images), -1).astype(np.float64)
    mean = x.mean(axis=0)
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    components = vt[: min(dims, len(vt))]
    # fix each direction's sign so the same data always gives the same features
    signs = np.sign(components[np.arange(len(components)), np.abs(components).argmax(axis=1)])
    return {"mean": mean.astype(np.float32),
            "components": (components * signs[:, None]).astype(np.float32)}


def train_classifier(images: np.ndarray, labels: np.ndarray, num_classes: int,
                     cfg: EvalConfig) -> dict[str, np.ndarray]:
    """Weights of an MLP classifier trained with Adam and random shifts; keys w0, b0, w1, b1, …"""
    rng = np.random.default_rng(cfg.seed)
    sizes = [int(np.prod(images.shape[1:])), *cfg.hidden, num_classes]
    params = [p for i, o in zip(sizes[:-1], sizes[1:]) for p in _init_layer(rng, i, o)]
    moments = [np.zeros_like(p) for p in params] + [np.zeros_like(p) for p in params]
    step = 0
    for _ in range(cfg.epochs):
        order = rng.permutation(len(images))
        for start in range(0, len(images), cfg.batch_size):
            batch = order[start : start + cfg.batch_size]
            x = _shift(images[batch], rng, cfg.max_shift).reshape(len(batch), -1)
            step += 1
            _adam(params, _gradients(params, x, labels[batch]), moments, step, cfg.learning_rate)
    return {f"{name}{i // 2}": p for i, (name, p) in
            enumerate(zip(["w", "b"] * (len(params) // 2), params))}


def _settings(kind: str, num_classes: int, cfg: EvalConfig) -> dict[str, object]:
    common = {"kind": kind, "version": ALGORITHM_VERSION, "feature_size": cfg.feature_size}
    if kind == "pca":
        return {**common, "dims": cfg.pca_dims}
    return {**common, "classes": num_classes, "hidden": cfg.hidden, "epochs": cfg.epochs,
            "batch": cfg.batch_size, "lr": cfg.learning_rate, "shift": cfg.max_shift,
            "seed": cfg.seed}


def _init_layer(rng: np.random.Generator, fan_in: int, fan_out: int) -> list[np.ndarray]:
    """He-initialized (fan_in, fan_out) weights and zero biases."""
    w = rng.standard_normal((fan_in, fan_out)).astype(np.float32) * np.float32(np.sqrt(2 / fan_in))
    return [w, np.zeros(fan_out, np.float32)]


def _forward(weights: list[tuple[np.ndarray, np.ndarray]], x: np.ndarray) -> list[np.ndarray]:
    """Activations [input, hidden…, logits]; ReLU after every layer but the last."""
    acts = [x.astype(np.float32)]
    for i, (w, b) in enumerate(weights):
        h = acts[-1] @ w + b
        acts.append(h if i == len(weights) - 1 else np.maximum(h, 0))
    return acts


def _gradients(params: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """Gradients of mean cross-entropy + L2 decay, in the order of ``params``."""
    weights = list(zip(params[0::2], params[1::2]))
    acts = _forward(weights, x)
    g = _softmax(acts[-1])
    g[np.arange(len(y)), y] -= 1.0
    g /= len(y)
    grads: list[np.ndarray] = []
    for i in reversed(range(len(weights))):
        w = weights[i][0]
        grads[:0] = [acts[i].T @ g + WEIGHT_DECAY * w, g.sum(axis=0)]
        if i > 0:
            g = (g @ w.T) * (acts[i] > 0)
    return grads


def _adam(params: list[np.ndarray], grads: list[np.ndarray], moments: list[np.ndarray],
          step: int, lr: float) -> None:
    """One in-place Adam update; ``moments`` holds first then second moments."""
    b1, b2 = ADAM_BETAS
    n = len(params)
    for p, g, m, v in zip(params, grads, moments[:n], moments[n:]):
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * g * g
        p -= lr * (m / (1 - b1**step)) / (np.sqrt(v / (1 - b2**step)) + ADAM_EPS)


def _shift(images: np.ndarray, rng: np.random.Generator, max_shift: int) -> np.ndarray:
    """The batch (B, C, S, S) translated by one random (dy, dx) in [-max_shift, max_shift]."""
    if max_shift == 0:
        return images
    dy, dx = rng.integers(-max_shift, max_shift + 1, size=2)
    return np.roll(images, (int(dy), int(dx)), axis=(2, 3))


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
