"""Latent walks: keyframe latents joined by lerp or slerp paths, one latent per frame.

A walk through K keyframes with ``frames`` frames per transition has K·frames frames when it
loops (the last keyframe flows back into the first, no frame repeated) and (K−1)·frames + 1 when
it does not. Frame j·frames is keyframe j exactly, so it is that seed's sampled image. Each frame's
latent depends only on the keyframes, the config and the frame index: rendering a walk in any
batch size gives the same frames.

Example:
    >>> import numpy as np
    >>> keys = np.eye(3, dtype=np.float32)
    >>> walk_latents(keys, WalkConfig(frames=4)).shape
    (12, 3)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ganedge.budgets import MAX_WALK_FRAMES, check_int
from ganedge.errors import ConfigError
from ganedge.sampling.latents import lerp, slerp

Interpolation = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
Easing = Callable[[np.ndarray], np.ndarray]

INTERPOLATIONS: dict[str, Interpolation] = {"lerp": lerp, "slerp": slerp}
EASINGS: dict[str, Easing] = {
    "linear": lambda t: t,
    # cosine ease in and out: zero speed at every keyframe, so a loop closes without a jolt
    "smooth": lambda t: (1.0 - np.cos(np.pi * t)) / 2.0,
}


@dataclass(frozen=True)
class WalkConfig:
    """How to walk between keyframe latents."""

    frames: int = 24  # frames per transition between two consecutive keyframes
    interpolation: str = "slerp"  # "slerp" (keeps latent norms) or "lerp" (straight line)
    easing: str = "smooth"  # "smooth" (ease in/out at keyframes) or "linear" (constant speed)
    loop: bool = True  # walk from the last keyframe back to the first

    def __post_init__(self) -> None:
        check_int(self.frames, "frames", 1, MAX_WALK_FRAMES)
        if not isinstance(self.interpolation, str) or self.interpolation not in INTERPOLATIONS:
            raise ConfigError(f"must be one of {sorted(INTERPOLATIONS)} "
                              f"(got {self.interpolation!r})", param="interpolation")
        if not isinstance(self.easing, str) or self.easing not in EASINGS:
            raise ConfigError(f"must be one of {sorted(EASINGS)} (got {self.easing!r})",
                              param="easing")

    def num_frames(self, num_keys: int) -> int:
        """Frames in a walk through ``num_keys`` keyframes."""
        return num_keys * self.frames if self.loop else (num_keys - 1) * self.frames + 1


def check_keyframes(num_keys: int) -> None:
    """A walk needs at least two keyframes."""
    if num_keys < 2:
        raise ConfigError(f"a walk needs at least 2 keyframe seeds (got {num_keys}): e.g. 0-3",
                          param="keyframes")


def walk_latents(keys: np.ndarray, config: WalkConfig) -> np.ndarray:
    """The (F, D) float32 latents of a walk through keyframes (K, D)."""
    check_keyframes(len(keys))
    interpolate = INTERPOLATIONS[config.interpolation]
    ease = EASINGS[config.easing]
    transitions = len(keys) if config.loop else len(keys) - 1
    t = ease(np.arange(config.frames, dtype=np.float64) / config.frames)
    segments = [interpolate(keys[j], keys[(j + 1) % len(keys)], t) for j in range(transitions)]
    if not config.loop:
        segments.append(keys[-1:].astype(np.float32))
    return np.concatenate(segments, axis=0)
