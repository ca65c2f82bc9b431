"""``ganedge walk``: latent walks between keyframe seeds as a GIF, animated WebP/PNG, MP4 or
frames.

With no options, ``ganedge walk model.onnx -o walk.gif`` gives a looping slerp walk through seeds
0-3, easing in and out of each keyframe, enlarged so a 32-pixel model is comfortable to watch.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from pathlib import Path
from typing import Literal

import numpy as np
import typer

from ganedge import budgets
from ganedge.budgets import check_bytes, check_float, check_int
from ganedge.cli import options as opt
from ganedge.cli.common import JSON, QUIET, VERSION, one_line_errors
from ganedge.cli.progress import Reporter
from ganedge.errors import InputError
from ganedge.io.files import check_writable_folder, make_folder
from ganedge.io.imaging import (
    GRID_PADDING,
    PngWriter,
    check_animation_path,
    grid_shape,
    make_grid,
    save_animation,
    upscale,
)
from ganedge.runtime.model import GeneratorModel
from ganedge.sampling.latents import format_seeds, parse_seeds
from ganedge.sampling.walks import EASINGS, INTERPOLATIONS, WalkConfig, check_keyframes

Interpolation = Literal[tuple(sorted(INTERPOLATIONS))]  # type: ignore[valid-type]
Easing = Literal[tuple(sorted(EASINGS))]  # type: ignore[valid-type]
KEYS_PER_WALK = 4  # keyframes of each default walk
MIN_DISPLAY_SIDE = 128  # --scale auto enlarges frames to at least this many pixels
GRID = re.compile(r"^(\d{1,9})(?:x(\d{1,9}))?$")


@one_line_errors
def walk(
    model: Path = opt.MODEL,
    seeds: list[str] = typer.Option(None, "--seeds", metavar="SPEC", help="Keyframe seeds of "
                                    "one walk, e.g. 0-3 or 5,9,2; repeat it for walks side by "
                                    "side."),
    grid: str = typer.Option("1", "--grid", metavar="WxH", help="Without --seeds: W×H walks "
                             "side by side (or N, arranged squarely), walk j through seeds 4j … "
                             "4j+3."),
    frames: int = typer.Option(24, "--frames", metavar="N", help="Frames per transition between "
                                                                 "keyframes."),
    fps: float = typer.Option(24.0, "--fps", metavar="FPS", help="Frames per second of the "
                                                                 "animation."),
    interpolation: Interpolation = typer.Option(None, "--interpolation", help="slerp keeps "
                                                "latent norms; lerp is a straight line [default: "
                                                "lerp in W for StyleGAN models, slerp in z "
                                                "otherwise]."),
    easing: Easing = typer.Option("smooth", "--easing", help="smooth eases in and out of "
                                                         "keyframes; linear keeps speed."),
    loop: bool = typer.Option(True, "--loop/--no-loop", help="Walk back to the first keyframe."),
    truncation: float = opt.TRUNCATION,
    label: int = typer.Option(None, "--label", metavar="ID", help="Class id for a conditional "
                              "model [default: first keyframe % num_classes]."),
    scale: int = typer.Option(None, "--scale", metavar="K", help="Enlarge frames K times "
                              "(nearest) [default: to at least 128 px]."),
    output: Path = typer.Option(None, "-o", "--output", metavar="FILE", help=".gif, .webp, .png "
                                "(animated) or .mp4 [default: walk.gif, unless --outdir]."),
    outdir: Path = typer.Option(None, "--outdir", metavar="DIR",
                                help="Folder for the frames, frame00000.png …"),
    batch_size: int = opt.BATCH_SIZE,
    provider: opt.Provider = opt.PROVIDER,
    threads: int = opt.THREADS,
    strict_provider: bool = opt.STRICT_PROVIDER,
    latent_dim: int = opt.LATENT_DIM,
    allow_nonfinite: bool = opt.ALLOW_NONFINITE,
    cuda_graph: bool = opt.CUDA_GRAPH,
    cudnn_search: opt.CudnnSearch = opt.CUDNN_SEARCH,
    tf32: bool = opt.TF32,
    progress: bool = opt.PROGRESS,
    as_json: bool = JSON,
    quiet: bool = QUIET,
    version: bool = VERSION,
) -> None:
    """Render latent walks between keyframe seeds (deterministic per frame)."""
    walks, cols = _keyframes(seeds, grid)
    # checked before the model loads; the model decides the default interpolation
    config = WalkConfig(frames=frames, interpolation=interpolation or "slerp", easing=easing,
                        loop=loop)
    per_walk = config.num_frames(len(walks[0]))
    check_int(per_walk, "frames", high=budgets.MAX_WALK_FRAMES,
              hint=": frames of the whole walk; use fewer keyframes or frames")
    check_float(fps, "fps", budgets.MIN_FPS, budgets.MAX_FPS)
    if scale is not None:
        check_int(scale, "scale", 1, budgets.MAX_SCALE)
    if output is None and outdir is None:
        output = Path("walk.gif")
    _check_outputs(output, outdir)
    gen = opt.open_model(model, provider, threads, strict_provider, latent_dim,
                         allow_nonfinite=allow_nonfinite, quiet=quiet,
                         settings=opt.session_settings(cuda_graph, cudnn_search, tf32))
    scale = scale or opt.auto_scale(gen.image_shape, MIN_DISPLAY_SIDE)
    cols = cols or grid_shape(len(walks))[1]
    _check_movie(gen, len(walks), cols, per_walk, scale)
    space = "W" if gen.contract.is_stylegan else "z"
    config = replace(config, interpolation=interpolation or ("lerp" if space == "W" else "slerp"))
    with Reporter("walk", len(walks) * per_walk, "frames", enabled=progress and not quiet,
                  to_stderr=as_json) as reporter:
        rendered = [gen.walk(keys, frames=frames, interpolation=config.interpolation, easing=easing,
                             loop=loop, truncation=truncation, label=label,
                             batch_size=batch_size, on_batch=reporter.advance)
                    for keys in walks]
    movie = _compose(np.stack(rendered), scale, cols)
    _write(movie, output, outdir, fps)
    _report(movie, output, outdir, fps, walks, config, space, truncation, as_json, quiet)


def _report(movie: np.ndarray, output: Path | None, outdir: Path | None, fps: float,
            walks: list[list[int]], config: WalkConfig, space: str, truncation: float,
            as_json: bool, quiet: bool) -> None:
    if as_json:
        typer.echo(json.dumps({
            "output": None if output is None else str(output),
            "outdir": None if outdir is None else str(outdir), "frames": len(movie),
            "fps": fps, "size": [int(movie.shape[2]), int(movie.shape[1])], "walks": walks,
            "interpolation": config.interpolation, "space": space, "easing": config.easing,
            "loop": config.loop, "truncation": truncation}))
    elif not quiet:
        written = " and ".join(str(p) for p in (output, outdir) if p is not None)
        typer.echo(f"wrote {written} ({len(movie)} frames at {fps:g} fps, {len(walks)} walk(s) "
                   f"through seeds {' | '.join(format_seeds(k) for k in walks)}, "
                   f"{config.interpolation} in {space}, {'loop' if config.loop else 'no loop'}, "
                   f"ψ {truncation:g})")


def _keyframes(seeds: list[str] | None, grid: str) -> tuple[list[list[int]], int | None]:
    """Keyframe seeds of each walk and the grid's columns (None: as square as fits); all walks
    need the same count to play side by side."""
    check_int(len(seeds or ()), "seeds", high=budgets.MAX_WALKS, hint=" walks side by side")
    if seeds:
        if grid != "1":
            raise InputError("give `seeds` once per walk, or `grid`, not both", param="grid")
        parsed, cols = [parse_seeds(spec) for spec in seeds], None
    else:
        count, cols = _parse_grid(grid)
        parsed = [range(KEYS_PER_WALK * j, KEYS_PER_WALK * (j + 1)) for j in range(count)]
    for keys in parsed:
        check_keyframes(len(keys))
        check_int(len(keys), "seeds", high=budgets.MAX_WALK_FRAMES, hint=" keyframes")
    if len({len(keys) for keys in parsed}) > 1:
        raise InputError(f"walks side by side need the same number of keyframes "
                         f"(got {[len(k) for k in parsed]})", param="seeds")
    return [list(keys) for keys in parsed], cols


def _parse_grid(spec: str) -> tuple[int, int | None]:
    """``WxH`` → (W·H walks, W columns), as StyleGAN's gen_video; ``N`` → (N walks, None)."""
    match = GRID.match(spec.strip().lower())
    if not match:
        raise InputError(f"{spec[:20]!r} is not WxH or N: use e.g. 2x2 or 3", param="grid")
    width, height = int(match[1]), None if match[2] is None else int(match[2])
    count = check_int(width if height is None else width * height, "grid", 1, budgets.MAX_WALKS,
                      hint=" walks")
    return count, None if height is None else width


def _check_outputs(output: Path | None, outdir: Path | None) -> None:
    if output is not None:
        check_animation_path(output)
    if outdir is not None:
        check_writable_folder(outdir, "frame00000.png")


def _check_movie(gen: GeneratorModel, walks: int, cols: int, frames: int, scale: int) -> None:
    """The frames, as rendered and as enlarged and tiled, against the pixel budgets."""
    h, w, c = gen.image_shape
    rows, cols = (math.ceil(walks / cols), cols) if walks > 1 else (1, 1)
    pad = GRID_PADDING if walks > 1 else 0
    frame = (rows * (h * scale + pad) + pad) * (cols * (w * scale + pad) + pad)
    if frame > budgets.MAX_GRID_PIXELS:
        raise InputError(f"frames of {frame:,} pixels (at most {budgets.MAX_GRID_PIXELS:,}): "
                         "lower `scale` or walk fewer side by side", param="scale")
    check_bytes(walks * frames, h * w * c, "frames", budgets.MAX_IN_MEMORY_BYTES,
                f"{walks * frames:,} frames", "use fewer frames, keyframes or walks")
    check_bytes(frames, frame * c, "frames", budgets.MAX_IN_MEMORY_BYTES,
                f"a movie of {frames:,} frames of {frame:,} pixels",
                "use fewer frames, a lower --scale or fewer walks")


def _compose(walks: np.ndarray, scale: int, cols: int) -> np.ndarray:
    """(W, F, H, W, C) walks → (F, H', W', C) frames: one walk enlarged, or walks in a grid."""
    walks = upscale(walks, scale)
    if len(walks) == 1:
        return walks[0]
    return np.stack([make_grid(walks[:, f], cols) for f in range(walks.shape[1])])


def _write(movie: np.ndarray, output: Path | None, outdir: Path | None, fps: float) -> None:
    if output is not None:
        save_animation(movie, output, fps)
    if outdir is not None:
        make_folder(outdir)
        with PngWriter() as writer:  # frames encoded on worker threads, in parallel
            for index, frame in enumerate(movie):
                writer.submit(frame, outdir / f"frame{index:05d}.png")
