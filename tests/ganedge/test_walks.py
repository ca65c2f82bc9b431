"""Latent paths and walks: exact endpoints, slerp norms, closed loops, per-frame determinism."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import ganedge
from ganedge.errors import ConfigError, GanEdgeError
from ganedge.sampling.latents import latents_for_seeds, lerp, slerp
from ganedge.sampling.walks import WalkConfig, walk_latents

A, B = latents_for_seeds([1, 2], 64)
T = np.linspace(0, 1, 11)


@pytest.mark.parametrize("path", [lerp, slerp])
def test_paths_start_and_end_exactly_on_the_keyframes(path) -> None:
    z = path(A, B, T)
    assert z.shape == (11, 64) and z.dtype == np.float32
    np.testing.assert_array_equal(z[0], A)
    np.testing.assert_array_equal(z[-1], B)


def test_slerp_keeps_norms_where_lerp_loses_them() -> None:
    norms = np.linalg.norm(slerp(A, B, T), axis=1)
    expected = (1 - T) * np.linalg.norm(A) + T * np.linalg.norm(B)
    np.testing.assert_allclose(norms, expected, rtol=1e-5)
    # two independent 64-d normals are nearly orthogonal: the line's middle is ~1/√2 as long
    assert np.linalg.norm(lerp(A, B, T)[5]) < 0.8 * expected[5]


def test_slerp_moves_at_constant_angular_speed() -> None:
    z = slerp(A, B, T).astype(np.float64)
    unit = z / np.linalg.norm(z, axis=1, keepdims=True)
    angles = np.arccos(np.clip(np.sum(unit[1:] * unit[:-1], axis=1), -1, 1))
    np.testing.assert_allclose(angles, angles[0], rtol=1e-4)


def test_slerp_of_parallel_latents_is_finite() -> None:
    z = slerp(A, 2 * A, T)
    assert np.isfinite(z).all()
    np.testing.assert_allclose(z[5], 1.5 * A, rtol=1e-5)


@pytest.mark.parametrize("easing", ["smooth", "linear"])
def test_loop_closes_without_a_jump(easing: str) -> None:
    keys = latents_for_seeds([0, 1, 2], 64)
    z = walk_latents(keys, WalkConfig(frames=8, easing=easing))
    assert len(z) == 24
    for j in range(3):
        np.testing.assert_array_equal(z[8 * j], keys[j])
    # periodic: starting the loop at keyframe 1 gives the same frames, shifted
    rotated = walk_latents(keys[[1, 2, 0]], WalkConfig(frames=8, easing=easing))
    np.testing.assert_array_equal(rotated, np.roll(z, -8, axis=0))
    steps = np.linalg.norm(np.diff(np.concatenate([z, z[:1]]), axis=0), axis=1)
    # the step from the last frame back to the first is an ordinary step of its transition
    assert steps[-1] <= steps[16:].max()
    if easing == "smooth":  # easing into the keyframe: the closing step is the shortest
        assert steps[-1] == steps[16:].min()


def test_open_walk_ends_on_the_last_keyframe() -> None:
    keys = latents_for_seeds([0, 1, 2], 16)
    z = walk_latents(keys, WalkConfig(frames=5, loop=False))
    assert len(z) == 11 and WalkConfig(frames=5, loop=False).num_frames(3) == 11
    np.testing.assert_array_equal(z[-1], keys[-1])


@pytest.mark.parametrize(("change", "message"), [
    ({"frames": 0}, "frames: must be at least 1"),
    ({"interpolation": "cubic"}, "interpolation: must be one of"),
    ({"easing": "bounce"}, "easing: must be one of"),
])
def test_bad_walk_config(change: dict, message: str) -> None:
    with pytest.raises(GanEdgeError, match=message):
        WalkConfig(**change)


def test_walk_frames_are_the_keyframe_images_and_batch_free(models: dict[str, Path]) -> None:
    gen = ganedge.load(models["float"])
    frames = gen.walk([3, 9, 4], frames=6)
    assert frames.shape == (18, 4, 4, 1)
    keyframes = gen.sample([3, 9, 4])
    for j in range(3):
        np.testing.assert_array_equal(frames[6 * j], keyframes[j])
    np.testing.assert_array_equal(gen.walk([3, 9, 4], frames=6, batch_size=1), frames)
    with pytest.raises(ConfigError, match="at least 2 keyframe seeds"):
        gen.walk([3])


def test_conditional_walk_stays_in_one_class(models: dict[str, Path]) -> None:
    cond = ganedge.load(models["cond"])
    frames = cond.walk([4, 0], frames=3, label=2)
    np.testing.assert_array_equal(frames[0], cond.sample([4], labels=2)[0])
    np.testing.assert_array_equal(frames[3], cond.sample([0], labels=2)[0])
    # by default the class of the first keyframe: 4 % 3 = 1
    np.testing.assert_array_equal(cond.walk([4, 0], frames=3)[3], cond.sample([0], labels=1)[0])
