"""``ganedge sample``: images from a model as a grid PNG and/or one PNG per seed, streamed.

Images are generated ``--batch-size`` at a time and written as they come, so ``-n 100000
--outdir imgs/`` runs in the memory of one batch. Every input is checked before the first file
is written, and every file is written atomically.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import typer

from ganedge.budgets import MAX_BATCH, MAX_GRID_IMAGES, MAX_GRID_PIXELS, MAX_SCALE, check_int
from ganedge.cli import options as opt
from ganedge.cli.common import JSON, QUIET, VERSION, one_line_errors
from ganedge.cli.progress import Reporter
from ganedge.errors import InputError
from ganedge.io.files import check_writable_folder, make_folder
from ganedge.io.imaging import (
    GRID_PADDING,
    PngWriter,
    check_image_path,
    grid_shape,
    make_grid,
    provenance_text,
    save_image,
    seed_png_name,
    upscale,
)
from ganedge.runtime.model import Chunk, GeneratorModel, resolve_seeds
from ganedge.sampling.latents import format_seeds, parse_seeds, parse_shard, shard

DEFAULT_GRID = Path("samples.png")


@one_line_errors
def sample(
    model: Path = opt.MODEL,
    n: int = typer.Option(None, "-n", metavar="N", help="Number of images, seeds --seed … "
                                                        "--seed+n-1 [default: 64]."),
    seed: int = typer.Option(0, "--seed", metavar="SEED", help="First seed for -n."),
    seeds: str = typer.Option(None, "--seeds", metavar="SPEC",
                              help="Seeds instead of -n, e.g. 0-63,100,200-209."),
    output: Path = typer.Option(None, "-o", "--output", metavar="IMAGE", help="Grid image, .png, "
                                ".jpg or .webp [default: samples.png unless --outdir is given]."),
    outdir: Path = typer.Option(None, "--outdir", metavar="DIR", help="Folder for one PNG per "
                                "seed (seed0042.png), streamed."),
    scale: int = typer.Option(None, "--scale", metavar="K", help="Enlarge the grid's images K "
                              "times (nearest) [default: to at least 64 px each]."),
    truncation: float = opt.TRUNCATION,
    label: int = typer.Option(None, "--label", metavar="ID", help="Class id for a conditional "
                              "model [default: seed % num_classes]."),
    shard_spec: str = typer.Option(None, "--shard", metavar="i/N", help="Render only the i-th "
                                   "(0-based) of N contiguous parts of the seeds."),
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
    """Sample images (one seed, one image) as a grid image and/or one PNG per seed."""
    seed_list = resolve_seeds(n, seed, None if seeds is None else parse_seeds(seeds))
    if shard_spec is not None:
        seed_list = shard(seed_list, *parse_shard(shard_spec))
        if not seed_list:
            raise InputError(f"part {shard_spec} of these seeds is empty: use fewer parts",
                             param="shard")
    check_int(batch_size, "batch_size", 1, MAX_BATCH)
    if scale is not None:
        check_int(scale, "scale", 1, MAX_SCALE)
    grid_path = output if output is not None or outdir is not None else DEFAULT_GRID
    _check_outputs(len(seed_list), grid_path, outdir)
    gen = opt.open_model(model, provider, threads, strict_provider, latent_dim,
                         allow_nonfinite=allow_nonfinite, quiet=quiet,
                         settings=opt.session_settings(cuda_graph, cudnn_search, tf32))
    scale = scale or opt.auto_scale(gen.image_shape, opt.MIN_GRID_CELL)
    if grid_path is not None:
        _check_grid_pixels(gen, len(seed_list), scale)
    chunks = gen.iter_samples(seed_list, truncation, label, batch_size)
    with Reporter("sample", len(seed_list), "images", enabled=progress and not quiet,
                  to_stderr=as_json) as reporter:
        grid = _stream(chunks, len(seed_list), gen, outdir, truncation, reporter,
                       keep=grid_path is not None)
    if grid_path is not None:
        save_image(make_grid(upscale(grid, scale)), grid_path)
    if as_json:
        typer.echo(json.dumps({"grid": None if grid_path is None else str(grid_path),
                               "outdir": None if outdir is None else str(outdir),
                               "images": len(seed_list), "seeds": format_seeds(seed_list),
                               "truncation": truncation, "scale": scale,
                               "provider": gen.providers[0]}))
    elif not quiet:
        written = [str(p) for p in (grid_path, outdir) if p is not None]
        typer.echo(f"wrote {' and '.join(written)} ({len(seed_list)} images, seeds "
                   f"{format_seeds(seed_list)}, ψ {truncation:g}, {gen.providers[0]})")


def _check_outputs(count: int, grid_path: Path | None, outdir: Path | None) -> None:
    """Output paths and the grid's image count, checked before the model is even loaded."""
    if grid_path is not None:
        check_image_path(grid_path)
        if count > MAX_GRID_IMAGES:
            raise InputError(f"a grid of {count:,} images is too large to look at (at most "
                             f"{MAX_GRID_IMAGES}): write one PNG per seed to a folder, or ask "
                             "for fewer", param="output")
    if outdir is not None:
        check_writable_folder(outdir, "seed0000.png")


def _check_grid_pixels(gen: GeneratorModel, count: int, scale: int) -> None:
    h, w, _ = gen.image_shape
    h, w = h * scale, w * scale
    rows, cols = grid_shape(count)
    pixels = (rows * (h + GRID_PADDING) + GRID_PADDING) * (cols * (w + GRID_PADDING) + GRID_PADDING)
    if pixels > MAX_GRID_PIXELS:
        raise InputError(f"a grid of {count:,} {h}x{w} images has {pixels:,} pixels (at most "
                         f"{MAX_GRID_PIXELS:,}): write one PNG per seed to a folder, ask for "
                         "fewer, or lower --scale", param="output")


def _stream(chunks: Iterator[Chunk], count: int, gen: GeneratorModel, outdir: Path | None,
            truncation: float, reporter: Reporter, keep: bool) -> np.ndarray | None:
    """Write each chunk's per-seed files as it comes; keep the images only for a grid."""
    kept = np.empty((count, *gen.image_shape), np.uint8) if keep else None
    if outdir is not None:
        make_folder(outdir)
    text = provenance_text(gen.path, truncation)
    row = 0
    # PNG encoding on worker threads overlaps the next batch's inference
    with PngWriter() as writer:
        for seed_chunk, images in chunks:
            if outdir is not None:
                for s, image in zip(seed_chunk, images):
                    writer.submit(image, outdir / seed_png_name(s),
                                  {"ganedge.seed": str(s), **text})
            if kept is not None:
                kept[row : row + len(images)] = images
            row += len(images)
            reporter.advance(len(images))
    return kept
