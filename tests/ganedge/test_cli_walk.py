"""``ganedge walk`` through the CLI: animations, frame folders, grids of walks, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageSequence

import ganedge
from ganedge.io.imaging import make_grid, upscale
from tests.ganedge.conftest import invoke


def frames_of(path: Path) -> list[np.ndarray]:
    with Image.open(path) as img:
        return [np.asarray(frame.convert("L")) for frame in ImageSequence.Iterator(img)]


@pytest.mark.parametrize("suffix", [".gif", ".webp", ".png"])
def test_animation_starts_on_the_first_keyframe(models: dict[str, Path], tmp_path: Path,
                                                suffix: str) -> None:
    out = tmp_path / f"walk{suffix}"
    result = invoke("walk", str(models["float"]), "--seeds", "5,6,7", "--frames", "4",
                    "--scale", "2", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert "12 frames at 24 fps, 1 walk(s) through seeds 5-7, slerp in z, loop" in result.stdout
    frames = frames_of(out)
    assert len(frames) == 12 and frames[0].shape == (8, 8)
    keyframe = upscale(ganedge.load(models["float"]).sample([5]), 2)[0, ..., 0]
    np.testing.assert_array_equal(frames[0], keyframe)
    with Image.open(out) as img:
        assert img.info.get("loop") == 0
        if suffix != ".webp":  # GIF keeps 1000/24 ms in whole centiseconds
            assert img.info.get("duration") == {".gif": 40, ".png": 42}[suffix]


def test_frames_folder_is_deterministic_per_frame(models: dict[str, Path], tmp_path: Path) -> None:
    for batch in ("1", "64"):
        result = invoke("walk", str(models["float"]), "--seeds", "0-2", "--frames", "5",
                        "--no-loop", "--interpolation", "lerp", "--batch-size", batch,
                        "--scale", "1", "--outdir", str(tmp_path / batch))
        assert result.exit_code == 0, result.stderr
    names = sorted(p.name for p in (tmp_path / "1").iterdir())
    assert names == [f"frame{i:05d}.png" for i in range(11)]
    for name in names:
        assert (tmp_path / "1" / name).read_bytes() == (tmp_path / "64" / name).read_bytes()
    gen = ganedge.load(models["float"])
    with Image.open(tmp_path / "1" / "frame00010.png") as last:
        np.testing.assert_array_equal(np.asarray(last), gen.sample([2])[0, ..., 0])


def test_grid_of_walks_side_by_side(models: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "grid.gif"
    result = invoke("walk", str(models["float"]), "--grid", "3", "--frames", "2", "--scale", "1",
                    "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert "3 walk(s) through seeds 0-3 | 4-7 | 8-11" in result.stdout
    frames = frames_of(out)
    assert len(frames) == 8
    gen = ganedge.load(models["float"])
    np.testing.assert_array_equal(frames[0], make_grid(gen.sample([0, 4, 8]), cols=2)[..., 0])


def test_default_walk_is_an_enlarged_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("walk", "--frames", "3")
    assert result.exit_code == 0, result.stderr
    frames = frames_of(tmp_path / "walk.gif")
    assert len(frames) == 12 and frames[0].shape == (128, 128)


@pytest.mark.parametrize(("args", "message"), [
    (["--seeds", "4"], "error: --seeds: a walk needs at least 2 keyframe seeds (got 1)"),
    (["--seeds", "0-2", "--seeds", "3-4"], "error: --seeds: walks side by side need the same"),
    (["--seeds", "0-2", "--grid", "2"], "error: --grid: give --seeds once per walk, or --grid"),
    (["--grid", "0"], "error: --grid: must be at least 1 (got 0) walks"),
    (["--grid", "2by2"], "error: --grid: '2by2' is not WxH or N: use e.g. 2x2 or 3"),
    (["--frames", "0"], "error: --frames: must be at least 1 (got 0)"),
    (["--fps", "0"], "error: --fps: must be in [0.1, 100] (got 0)"),
    (["--interpolation", "cubic"], "error: Invalid value for '--interpolation': "
                                  "'cubic' is not one of 'lerp', 'slerp'."),
    (["--truncation", "2"], "error: --truncation: ψ must be in [0, 1] (got 2.0)"),
    (["--scale", "0"], "error: --scale: must be at least 1 (got 0)"),
    (["--label", "0"], "error: --label: this model is unconditional"),
    (["-o", "walk.avi"], "error: --output: 'walk.avi' is not .gif, .webp, .png (animated) or "
                        ".mp4"),
    (["-o", "nowhere/walk.gif"], "error: --output: folder 'nowhere' does not exist"),
    (["--outdir", "nowhere/frames"], "error: --outdir: folder 'nowhere' does not exist"),
])
def test_bad_walk_input(models: dict[str, Path], tmp_path: Path,
                        monkeypatch: pytest.MonkeyPatch, args: list[str], message: str) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("walk", str(models["float"]), *args)
    assert result.exit_code == 2
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1, result.stderr
    assert list(tmp_path.iterdir()) == []
