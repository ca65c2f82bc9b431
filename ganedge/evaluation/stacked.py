"""The 1,000-mode protocol of stacked digits, as the Stacked MNIST papers count modes.

Each channel of an image is classified on its own by the evaluator's digit classifier (the one
``ganedge eval --data digits`` trains); the three digits name one of 10³ modes. A mode is covered
when at least one sample lands in it (Metz et al. 2017; Srivastava et al. 2017; Lin et al. 2018),
and the spread is KL(generated mode histogram ‖ uniform). The real-data floor is a fresh draw of
as many real stacks, counted the same way.

Example:
    >>> stats = stacked_mode_stats(digit_probabilities)     # doctest: +SKIP
    >>> stats.covered, round(stats.kl, 3)                   # doctest: +SKIP
    (1000, 0.019)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ganedge.evaluation.config import EvalConfig
from ganedge.evaluation.featnet import FeatureNetwork, feature_network
from ganedge.evaluation.images import as_uint8_nhwc, feature_input
from ganedge.evaluation.modes import kl_divergence
from ganedge.io.datasets import STACKED_DIGITS, load_digits, stack_digits

NUM_MODES = 10**STACKED_DIGITS
DEFAULT_N = 26_000  # samples per count, as in VEEGAN, PacGAN and R3GAN
FLOOR_SEED_OFFSET = 1_000_003  # the floor's real stacks are drawn apart from the data's


@dataclass(frozen=True)
class StackedModes:
    """Mode coverage of one set of stacked-digit images."""

    covered: int  # modes with at least one sample, of NUM_MODES
    kl: float  # KL(generated mode histogram ‖ uniform), nats
    channel_histograms: tuple[tuple[int, ...], ...]  # (3, 10) digit counts per channel
    missing: tuple[int, ...]  # mode ids (100·R + 10·G + B) with no sample


def stacked_mode_stats(probabilities: np.ndarray) -> StackedModes:
    """Modes of images from per-channel digit probabilities (N, 3, 10)."""
    digits = probabilities.argmax(axis=2)  # (N, 3)
    modes = digits @ (10 ** np.arange(STACKED_DIGITS - 1, -1, -1))
    counts = np.bincount(modes, minlength=NUM_MODES)
    uniform = np.full(NUM_MODES, 1.0 / NUM_MODES)
    histograms = tuple(tuple(int(c) for c in np.bincount(digits[:, k], minlength=10))
                       for k in range(STACKED_DIGITS))
    return StackedModes(covered=int((counts > 0).sum()),
                        kl=kl_divergence(counts / len(modes), uniform),
                        channel_histograms=histograms,
                        missing=tuple(int(m) for m in np.flatnonzero(counts == 0)))


class ChannelDigitNetwork:
    """The evaluator's digit classifier applied to each channel of (N, 3, S, S) images.

    Features are the three channels' features side by side (N, 3F); probabilities (N, 3, 10).
    It is trained exactly as for ``--data digits`` (same split, settings and cache entry).
    """

    kind = "digit mlp per channel"

    def __init__(self, image_size: int, config: EvalConfig,
                 reference: Callable[[int], np.ndarray]) -> None:
        digits = load_digits(image_size)
        split = reference(len(digits.images))  # the digits evaluator's reference indices
        x_ref = feature_input(as_uint8_nhwc(digits.images[split], "digits"), config.feature_size)
        self.digits_u8 = as_uint8_nhwc(digits.images, "digits")[..., 0]  # (M, S, S) for floors
        self.digit_labels = digits.labels
        self.net: FeatureNetwork = feature_network(x_ref, digits.labels[split], 10, config)
        self.digest, self.cached = self.net.digest, self.net.cached

    def features(self, images: np.ndarray) -> np.ndarray:
        """(N, 3F) features of (N, 3, F, F) float32 images in [-1, 1]."""
        return np.concatenate([self.net.features(images[:, c : c + 1])
                               for c in range(images.shape[1])], axis=1)

    def channel_probabilities(self, images: np.ndarray) -> np.ndarray:
        """(N, 3, 10) digit probabilities of each channel."""
        return np.stack([self.net.probabilities(images[:, c : c + 1])
                         for c in range(images.shape[1])], axis=1)

    def real_stacks(self, n: int, seed: int) -> np.ndarray:
        """(n, S, S, 3) uint8 real stacked digits for the floor, drawn with ``seed``."""
        stacks, _ = stack_digits(self.digits_u8, self.digit_labels, n, seed + FLOOR_SEED_OFFSET)
        return stacks.transpose(0, 2, 3, 1)
