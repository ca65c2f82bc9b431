"""``ganedge walk``: latent walks between keyframe seeds as a GIF, animated WebP/PNG or frames.

With no options, ``ganedge walk model.onnx -o walk.gif`` gives a looping slerp walk through seeds
0-3, easing in and out of each keyframe, enlarged so a 32-pixel model is comfortable to watch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer

from ganedge.cli import options as opt
from ganedge.cli.common import one_line_errors
from ganedge import budgets
from ganedge.budgets import check_bytes, check_float, check_int
from ganedge.errors import InputError
from ganedge.files import check_writable_folder, make_folder
from ganedge.imaging import (GRID_PADDING, check_animation_path, grid_shape, make_grid,
                             save_animation, save_png, upscale)
from ganedge.latents import check_truncation, format_seeds, parse_seeds
from ganedge.runtime import GeneratorModel
from ganedge.walks import WalkConfig, check_keyframes

KEYS_PER_WALK = 4  # keyframes of each default walk
MIN_DISPLAY_SIDE = 128  # --scale auto enlarges frames to at least this many pixels


@one_line_errors
def walk(
    model: Path = opt.MODEL,
    seeds: list[str] = typer.Option(None, "--seeds", help="Keyframe seeds of one walk, e.g. "
                                                          "0-3 or 5,9,2; repeat it for walks "
                                                          "side by side."),
    grid: int = typer.Option(1, "--grid", help="Without --seeds: this many walks side by side, "
                                               "walk j through seeds 4j … 4j+3."),
    frames: int = typer.Option(24, "--frames", help="Frames per transition between keyframes."),
    fps: float = typer.Option(24.0, "--fps", help="Frames per second of the animation."),
    interpolation: str = typer.Option(None, "--interpolation", help="slerp or lerp [default: "
                                      "lerp in W for StyleGAN models, slerp in z otherwise]."),
    easing: str = typer.Option("smooth", "--easing", help="smooth (ease at keyframes) or linear."),
    loop: bool = typer.Option(True, "--loop/--no-loop", help="Walk back to the first keyframe."),
    truncation: float = opt.TRUNCATION,
    label: int = typer.Option(None, "--label", help="Class id for a conditional model "
                                                    "[default: first keyframe % num_classes]."),
    scale: int = typer.Option(None, "--scale", help="Enlarge frames this many times (nearest) "
                                                    "[default: to at least 128 px]."),
    output: Path = typer.Option(None, "-o", "--output", help=".gif, .webp or .png (animated) "
                                                             "[default: walk.gif, unless "
                                                             "--outdir]."),
    outdir: Path = typer.Option(None, "--outdir", help="Folder for the frames, frame00000.png …"),
    batch_size: int = opt.BATCH_SIZE,
    provider: str = opt.PROVIDER,
    threads: int = opt.THREADS,
    strict_provider: bool = opt.STRICT_PROVIDER,
    latent_dim: int = opt.LATENT_DIM,
    allow_nonfinite: bool = opt.ALLOW_NONFINITE,
    progress: bool = opt.PROGRESS,
) -> None:
    """Render latent walks between keyframe seeds (deterministic per frame)."""
    walks = _keyframes(seeds, grid)
    # checked before the model loads; the model decides the default interpolation
    config = WalkConfig(frames=frames, interpolation=interpolation or "slerp", easing=easing,
                        loop=loop)
    check_int(config.num_frames(len(walks[0])), "frames", high=budgets.MAX_WALK_FRAMES,
              hint=": frames of the whole walk; use fewer keyframes or frames")
    check_truncation(truncation)
    check_float(fps, "fps", budgets.MIN_FPS, budgets.MAX_FPS)
    if scale is not None:
        check_int(scale, "scale", 1, budgets.MAX_SCALE)
    if output is None and outdir is None:
        output = Path("walk.gif")
    _check_outputs(output, outdir)
    gen = opt.open_model(model, provider, threads, strict_provider, latent_dim, allow_nonfinite)
    scale = scale or _auto_scale(gen.image_shape)
    _check_movie(gen, len(walks), config.num_frames(len(walks[0])), scale)
    space = "W" if gen.contract.is_stylegan else "z"
    interpolation = interpolation or ("lerp" if space == "W" else "slerp")
    rendered = []
    with opt.progress_bar(progress) as bar:
        task = bar.add_task("walking", total=len(walks))
        for keys in walks:
            rendered.append(gen.walk(keys, frames=frames, interpolation=interpolation,
                                     easing=easing, loop=loop, truncation=truncation,
                                     label=label, batch_size=batch_size))
            bar.advance(task)
    movie = _compose(np.stack(rendered), scale)
    _write(movie, output, outdir, fps)
    written = " and ".join(str(p) for p in (output, outdir) if p is not None)
    typer.echo(f"wrote {written} ({len(movie)} frames at {fps:g} fps, {len(walks)} walk(s) "
               f"through seeds {' | '.join(format_seeds(k) for k in walks)}, "
               f"{interpolation} in {space}, {'loop' if loop else 'no loop'}, ψ {truncation:g})")


def _keyframes(seeds: list[str] | None, grid: int) -> list[list[int]]:
    """Keyframe seeds of each walk; all walks need the same count to play side by side."""
    check_int(len(seeds or ()), "seeds", high=budgets.MAX_WALKS, hint=" walks side by side")
    if seeds:
        if grid != 1:
            raise InputError("give --seeds once per walk, or --grid, not both", param="grid")
        parsed = [parse_seeds(spec) for spec in seeds]
    else:
        check_int(grid, "grid", 1, budgets.MAX_WALKS)
        parsed = [range(KEYS_PER_WALK * j, KEYS_PER_WALK * (j + 1)) for j in range(grid)]
    for keys in parsed:
        check_keyframes(len(keys))
        check_int(len(keys), "seeds", high=budgets.MAX_WALK_FRAMES, hint=" keyframes")
    if len({len(keys) for keys in parsed}) > 1:
        raise InputError(f"walks side by side need the same number of keyframes "
                         f"(got {[len(k) for k in parsed]})", param="seeds")
    return [list(keys) for keys in parsed]


def _check_outputs(output: Path | None, outdir: Path | None) -> None:
    if output is not None:
        check_animation_path(output)
    if outdir is not None:
        check_writable_folder(outdir, "frame00000.png", "--outdir")


def _check_movie(gen: GeneratorModel, walks: int, frames: int, scale: int) -> None:
    """The frames, as rendered and as enlarged and tiled, against the pixel budgets."""
    h, w, c = gen.image_shape
    rows, cols = grid_shape(walks) if walks > 1 else (1, 1)
    pad = GRID_PADDING if walks > 1 else 0
    frame = (rows * (h * scale + pad) + pad) * (cols * (w * scale + pad) + pad)
    if frame > budgets.MAX_GRID_PIXELS:
        raise InputError(f"frames of {frame:,} pixels (at most {budgets.MAX_GRID_PIXELS:,}): "
                         "lower --scale or walk fewer side by side", param="scale")
    check_bytes(walks * frames, h * w * c, "frames", budgets.MAX_IN_MEMORY_BYTES,
                f"{walks * frames:,} frames", "use fewer frames, keyframes or walks")
    check_bytes(frames, frame * c, "frames", budgets.MAX_IN_MEMORY_BYTES,
                f"a movie of {frames:,} frames of {frame:,} pixels",
                "use fewer frames, a lower --scale or fewer walks")


def _auto_scale(shape: tuple[int, int, int]) -> int:
    return max(1, -(-MIN_DISPLAY_SIDE // min(shape[:2])))


def _compose(walks: np.ndarray, scale: int) -> np.ndarray:
    """(W, F, H, W, C) walks → (F, H', W', C) frames: one walk enlarged, or walks in a grid."""
    walks = upscale(walks, scale)
    if len(walks) == 1:
        return walks[0]
    cols = grid_shape(len(walks))[1]
    return np.stack([make_grid(walks[:, f], cols) for f in range(walks.shape[1])])


def _write(movie: np.ndarray, output: Path | None, outdir: Path | None, fps: float) -> None:
    if output is not None:
        save_animation(movie, output, fps)
    if outdir is not None:
        make_folder(outdir)
        for index, frame in enumerate(movie):
            save_png(frame, outdir / f"frame{index:05d}.png")
