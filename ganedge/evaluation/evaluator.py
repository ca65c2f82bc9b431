"""Compare generated images with a real dataset, next to a real-vs-real floor.

Protocol: the real images are shuffled with ``seed`` and cut into two disjoint splits. The
feature network is trained on the reference split only; generated images and the held-out real
split are then scored against the reference in exactly the same way, so the held-out figures are
the floor a perfect generator would reach at that sample size.

Example:
    >>> ev = Evaluator("digits", image_size=32, channels=1)          # doctest: +SKIP
    >>> print(ev.evaluate(fake_uint8_nhwc).format())                 # doctest: +SKIP
"""

from __future__ import annotations

import functools
import importlib.metadata as md
import platform
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from ganedge.errors import InputError
from ganedge.evaluation.config import EvalConfig, check_sample_count
from ganedge.evaluation.featnet import feature_network
from ganedge.evaluation.frechet import frechet_distance_features, kernel_distance
from ganedge.evaluation.images import FEATURE_RESIZE, as_uint8_nhwc, feature_input
from ganedge.evaluation.inception import OnnxFeatures
from ganedge.evaluation.manifold import manifold_metrics
from ganedge.evaluation.modes import mode_stats
from ganedge.evaluation.result import EvalResult, Figure
from ganedge.evaluation.stacked import (
    DEFAULT_N as STACKED_N,
    FLOOR_SEED_OFFSET,
    NUM_MODES,
    ChannelDigitNetwork,
    stacked_mode_stats,
)
from ganedge.io.datasets import ImageDataset, load_dataset
from ganedge.io.imaging import make_grid, save_png

LOWER, HIGHER = "lower", "higher"
GRID_PER_CLASS = 8  # images per class row in the mode grid


class Evaluator:
    """Reference statistics of one real dataset, prepared once, reused for many generated sets."""

    def __init__(self, data: str | Path | ImageDataset, image_size: int, channels: int,
                 config: EvalConfig | None = None, inception_range: str = "0,1",
                 provider: str = "auto") -> None:
        self.config = config or EvalConfig()
        # the Inception file is checked first, before seconds of work could be wasted
        self.inception = (None if self.config.inception is None else
                          OnnxFeatures(self.config.inception, inception_range, provider))
        self.data_name = data if isinstance(data, (str, Path)) else "<ImageDataset>"
        self.dataset = _dataset(data, image_size, channels)
        reference, heldout = _split(len(self.dataset.images), self.config)
        real = as_uint8_nhwc(self.dataset.images, "data")
        labels = self.dataset.labels
        self.real_ref, self.real_heldout = real[reference], real[heldout]
        self.labels_ref = None if labels is None else labels[reference]
        self.labels_heldout = None if labels is None else labels[heldout]
        x_ref = feature_input(self.real_ref, self.config.feature_size)  # (N, C, F, F) in [-1, 1]
        self.net = self._network(x_ref, image_size)
        raw = self.net.features(x_ref)
        # unit mean variance on the reference, so FD and KID read alike across datasets
        self.feature_scale = float(np.sqrt(raw.var(axis=0).mean())) or 1.0
        self.ref_features = raw / self.feature_scale
        self.ref_inception = None if self.inception is None else self.inception(self.real_ref)

    def _network(self, x_ref: np.ndarray, image_size: int) -> Any:
        if self.dataset.stacked:
            # the digits evaluator's own classifier: same split of the 1,797 digits, same cache
            return ChannelDigitNetwork(image_size, self.config,
                                       lambda n: _split(n, self.config)[0])
        return feature_network(x_ref, self.labels_ref, self.dataset.num_classes, self.config)

    @property
    def labeled(self) -> bool:
        """Whether mode figures are computed (a classifier was trained on labels)."""
        return self.net.kind == "mlp"

    @property
    def n_heldout(self) -> int:
        """Size of the held-out real split, the default number of generated images."""
        return len(self.real_heldout)

    @property
    def default_n(self) -> int:
        """Generated images to score by default: 26,000 for stacked digits (as the papers
        count modes), else the held-out real split's size."""
        return STACKED_N if self.dataset.stacked else self.n_heldout

    @functools.cached_property
    def floor(self) -> dict[str, float]:
        """Every figure for the held-out real split (its true labels as ``fake_labels``)."""
        return self._scores(self.real_heldout, self.labels_heldout)[0]

    def evaluate(self, images: np.ndarray, fake_labels: np.ndarray | None = None,
                 extra_protocol: dict[str, Any] | None = None) -> EvalResult:
        """Score generated images: uint8 (N, H, W, C) or float (N, C, H, W) in [-1, 1].

        ``fake_labels`` (N,) are the classes a conditional generator was asked for; they add
        "label accuracy" (share classified as asked).
        """
        fakes = self._check(as_uint8_nhwc(images, "fake images"), fake_labels)
        check_sample_count(len(fakes), self.config, "images")
        scores, missing = self._scores(fakes, fake_labels)
        floor = self.floor
        figures = tuple(Figure(name, value, floor[name], _BETTER[name.split(" (")[0]])
                        for name, value in scores.items() if name in floor)
        protocol = {**self.protocol(len(fakes)), **(extra_protocol or {})}
        names = self.dataset.class_names
        if self.dataset.stacked:
            return self._with_stacked_modes(fakes, figures, protocol)
        return EvalResult(figures, tuple(names[c] for c in missing), bool(missing), protocol)

    def _with_stacked_modes(self, fakes: np.ndarray, figures: tuple[Figure, ...],
                            protocol: dict[str, Any]) -> EvalResult:
        """The 1,000-mode figures of stacked digits beside a real draw of the same size."""
        cfg = self.config
        gen, real = (stacked_mode_stats(self.net.channel_probabilities(
            feature_input(x, cfg.feature_size))) for x in
            (fakes, self.net.real_stacks(len(fakes), cfg.seed)))
        figures += (Figure(f"modes (of {NUM_MODES})", float(gen.covered), float(real.covered),
                           HIGHER),
                    Figure("KL(modes||uniform)", gen.kl, real.kl, LOWER))
        threshold = cfg.stacked_collapse_fraction * NUM_MODES
        protocol["stacked_modes"] = {
            "classifier": "evaluator's digit classifier on each channel; mode = 100·R + 10·G + B",
            "covered": "at least one sample in the mode", "n_generated": len(fakes),
            "n_floor": len(fakes),
            "floor": f"fresh real stacks, seed {cfg.seed} + {FLOOR_SEED_OFFSET}",
            "collapse_below": threshold,
            "channel_histograms": {"generated": [list(h) for h in gen.channel_histograms],
                                   "real": [list(h) for h in real.channel_histograms]}}
        return EvalResult(figures, tuple(f"{m:03d}" for m in gen.missing),
                          gen.covered < threshold, protocol)

    def mode_grid(self, images: np.ndarray, per_class: int = GRID_PER_CLASS) -> np.ndarray:
        """A (rows, cols, C) uint8 picture of generated images (uint8 NHWC or float NCHW).

        Labeled data: row c holds up to ``per_class`` images the classifier confidently calls
        class c, most confident first; a missing mode is an empty row. Unlabeled: a plain grid.
        """
        fakes = self._check(as_uint8_nhwc(images, "fake images"), None)
        if not self.labeled:
            return make_grid(fakes[: per_class * per_class])
        probs = self.net.probabilities(feature_input(fakes, self.config.feature_size))
        cells = np.zeros((self.dataset.num_classes, per_class, *fakes.shape[1:]), np.uint8)
        sure = probs.max(axis=1) >= self.config.mode_confidence
        for c in range(self.dataset.num_classes):
            members = np.flatnonzero(sure & (probs.argmax(axis=1) == c))
            best = members[np.argsort(-probs[members, c], kind="stable")][:per_class]
            cells[c, : len(best)] = fakes[best]
        return make_grid(cells.reshape(-1, *fakes.shape[1:]), cols=per_class)

    def protocol(self, n_fake: int) -> dict[str, Any]:
        """How the figures are made: sizes, splits, feature network, filters, seeds, versions."""
        cfg = self.config
        return {
            "data": str(self.data_name),
            "image": f"{self.real_ref.shape[3]}x{self.real_ref.shape[1]}x{self.real_ref.shape[2]}",
            "n_real": len(self.real_ref), "n_fake": n_fake, "n_floor": self.n_heldout,
            "skipped_files": self.dataset.skipped,
            "splits": f"seed {cfg.seed} shuffle of {len(self.dataset.images)} real images: "
                      f"reference {len(self.real_ref)}, held-out floor {self.n_heldout}",
            "feature_network": self._net_protocol(),
            "resize": {"data": self.dataset.resize_filter, "features": FEATURE_RESIZE,
                       "quantize": "uint8 both sides"},
            "seeds": {"split_init_kid": cfg.seed},
            "knn_k": cfg.knn_k, "kid": {"subsets": cfg.kid_subsets, "size": cfg.kid_subset_size},
            "modes": {"confidence": cfg.mode_confidence, "min_ratio": cfg.mode_min_ratio},
            "inception": self._inception_protocol(),
            "versions": _versions(),
            "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
        }

    def _check(self, fakes: np.ndarray, fake_labels: np.ndarray | None) -> np.ndarray:
        if fakes.shape[1:] != self.real_ref.shape[1:]:
            raise InputError(f"fake images: shape {fakes.shape[1:]} (H, W, C) differs from the "
                             f"data's {self.real_ref.shape[1:]}: load the data at the model's size")
        if fake_labels is not None and np.shape(fake_labels) != (len(fakes),):
            raise InputError(f"fake_labels: expected shape ({len(fakes)},) "
                             f"(got {np.shape(fake_labels)})")
        if fake_labels is not None and not self.labeled:
            raise InputError("fake_labels: the data has no labels to check them against: drop them")
        return fakes

    def _scores(self, images: np.ndarray,
                labels: np.ndarray | None) -> tuple[dict[str, float], tuple[int, ...]]:
        """Figures of (N, H, W, C) uint8 images against the reference, and missing class ids."""
        cfg = self.config
        x = feature_input(images, cfg.feature_size)
        features = self.net.features(x) / self.feature_scale
        scores = {"FD": frechet_distance_features(features, self.ref_features),
                  "KID": kernel_distance(features, self.ref_features, cfg.kid_subsets,
                                         cfg.kid_subset_size, cfg.seed)[0]}
        scores.update(asdict(manifold_metrics(self.ref_features, features, cfg.knn_k)))
        missing: tuple[int, ...] = ()
        if self.labeled:
            probs = self.net.probabilities(x)
            modes = mode_stats(probs, self.labels_ref, cfg.mode_confidence, cfg.mode_min_ratio)
            scores.update({"modes covered": float(modes.covered), "KL(gen||real)": modes.kl})
            missing = modes.missing
            scores["mean confidence"] = float(probs.max(axis=1).mean())
            if labels is not None:
                scores["label accuracy"] = float((probs.argmax(axis=1) == labels).mean())
        if self.inception is not None:
            inc = self.inception(images)
            scores["FD (inception)"] = frechet_distance_features(inc, self.ref_inception)
            scores["KID (inception)"] = kernel_distance(inc, self.ref_inception, cfg.kid_subsets,
                                                        cfg.kid_subset_size, cfg.seed)[0]
        return scores, missing

    @functools.cached_property
    def heldout_accuracy(self) -> float | None:
        """The classifier's accuracy on the held-out real split; None for unlabeled data."""
        if not self.labeled:
            return None
        x = feature_input(self.real_heldout, self.config.feature_size)
        return float((self.net.probabilities(x).argmax(axis=1) == self.labels_heldout).mean())

    def _net_protocol(self) -> dict[str, Any]:
        info: dict[str, Any] = {"kind": self.net.kind, "hash": self.net.digest[:16],
                                "cached": self.net.cached, "dims": self.ref_features.shape[1],
                                "scale": "unit mean variance on the reference",
                                "input": f"{self.config.feature_size}x{self.config.feature_size}"}
        if self.heldout_accuracy is not None:
            info["heldout_accuracy"] = round(self.heldout_accuracy, 4)
        return info

    def _inception_protocol(self) -> dict[str, Any] | None:
        if self.inception is None:
            return None
        return {"path": str(self.inception.path), "sha256": self.inception.digest[:16],
                "size": self.inception.size, "input_range": self.inception.input_range,
                "resize": "bilinear"}


_BETTER = {"FD": LOWER, "KID": LOWER, "precision": HIGHER, "recall": HIGHER, "density": HIGHER,
           "coverage": HIGHER, "modes covered": HIGHER, "KL(gen||real)": LOWER,
           "label accuracy": HIGHER, "mean confidence": HIGHER}


def evaluate_images(images: np.ndarray, data: str | Path | ImageDataset = "digits",
                    fake_labels: np.ndarray | None = None, config: EvalConfig | None = None,
                    grid: str | Path | None = None) -> EvalResult:
    """Score generated images (uint8 NHWC or float NCHW in [-1, 1]) against a real dataset.

    The data is loaded at the images' size and channel count. For repeated calls on one dataset
    (a training callback) build an :class:`Evaluator` once and call ``evaluate``. ``grid``:
    also write :meth:`Evaluator.mode_grid` there as PNG.
    """
    fakes = as_uint8_nhwc(images, "fake images")
    if fakes.shape[1] != fakes.shape[2]:
        raise InputError(f"fake images: must be square (got {fakes.shape[1]}x{fakes.shape[2]})")
    check_sample_count(len(fakes), config or EvalConfig(), "images")
    evaluator = Evaluator(data, fakes.shape[1], fakes.shape[3], config)
    result = evaluator.evaluate(fakes, fake_labels)
    if grid is not None:
        save_png(evaluator.mode_grid(fakes), grid)
    return result


def _dataset(data: str | Path | ImageDataset, image_size: int, channels: int) -> ImageDataset:
    if not isinstance(data, ImageDataset):
        return load_dataset(data, image_size, channels)
    if data.images.shape[1:] != (channels, image_size, image_size):
        raise InputError(f"data: images are {data.images.shape[1:]} (C, H, W), expected "
                         f"{(channels, image_size, image_size)}: load it at the model's size")
    return data


def _split(n: int, cfg: EvalConfig) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint index sets (reference, held-out) of a seeded shuffle, each ≤ real_per_split."""
    minimum = 2 * (cfg.knn_k + 1)
    if n < minimum:
        raise InputError(f"{n} real images are too few to split for k-NN with "
                         f"k={cfg.knn_k}: give at least {minimum}", param="data")
    order = np.random.default_rng(cfg.seed).permutation(n)
    half = min((n + 1) // 2, cfg.real_per_split)
    return np.sort(order[:half]), np.sort(order[half : half + min(n - half, cfg.real_per_split)])


def _versions() -> dict[str, str]:
    """Installed versions of what shapes the figures."""
    candidates = {"ganedge": ("ganedge",), "numpy": ("numpy",), "pillow": ("pillow",),
                  "onnxruntime": ("onnxruntime", "onnxruntime-gpu")}
    return {**{name: _version(dists) for name, dists in candidates.items()},
            "python": platform.python_version()}


def _version(dists: tuple[str, ...]) -> str:
    for dist in dists:
        try:
            return md.version(dist)
        except md.PackageNotFoundError:
            continue
    return "unknown"
