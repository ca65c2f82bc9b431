"""``ganedge eval``: score a model (or a folder / .npz of images) against real data, offline."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import typer
from rich.console import Console

from ganedge.cli import options as opt
from ganedge.cli.common import JSON, QUIET, VERSION, one_line_errors, warnings_as_lines
from ganedge.cli.progress import on_terminal
from ganedge.errors import InputError
from ganedge.evaluation import EvalConfig, EvalResult, evaluate_images, evaluate_model
from ganedge.evaluation.inception import INPUT_RANGES
from ganedge.io.datasets import load_dataset
from ganedge.io.files import atomic_path, check_writable
from ganedge.runtime.model import default_model_path

InceptionRange = Literal[tuple(INPUT_RANGES)]  # type: ignore[valid-type]
Channels = Literal[1, 3]


@one_line_errors
def eval_command(
    model: Path = opt.MODEL,
    data: str = typer.Option("digits", "--data", metavar="DATA",
                             help="Real data: digits, an image folder or a .npz file."),
    images: Path = typer.Option(None, "--images", metavar="PATH", help="Score these images "
                                "(folder or .npz) instead of a model."),
    n: int = typer.Option(None, "-n", metavar="N", help="Images to sample (default: size of the "
                                                        "held-out real split)."),
    seed: int = typer.Option(0, "--seed", metavar="SEED",
                             help="First sampling seed; seeds seed..seed+n-1."),
    eval_seed: int = typer.Option(0, "--eval-seed", metavar="SEED", help="Seed of the real "
                                  "split, feature network and KID subsets."),
    channels: Channels = typer.Option(None, "--channels", help="Channels for --images and the "
                                      "data beside them; a model sets its own."),
    image_size: int = typer.Option(32, "--image-size", metavar="S", help="Image side for "
                                   "--images (a model sets its own)."),
    inception: Path = typer.Option(None, "--inception", metavar="ONNX", help="Local Inception "
                                   ".onnx for FID (never downloaded)."),
    inception_range: InceptionRange = typer.Option("0,1", "--inception-range",
                                                   help="Input range of those weights."),
    as_json: bool = JSON,
    output: Path = typer.Option(None, "-o", "--output", metavar="JSON",
                                help="Also write the result as JSON here."),
    grid: Path = typer.Option(None, "--grid", metavar="PNG", help="Also write a PNG: one row of "
                              "samples per class (modes)."),
    provider: opt.Provider = opt.PROVIDER,
    latent_dim: int = opt.LATENT_DIM,
    allow_nonfinite: bool = opt.ALLOW_NONFINITE,
    progress: bool = opt.PROGRESS,
    quiet: bool = QUIET,
    version: bool = VERSION,
) -> None:
    """FD, KID, precision/recall/density/coverage and modes, beside the real-vs-real floor."""
    if model is not None and images is not None:
        raise InputError("model/--images: give a model file or --images, not both")
    if images is None and model is None:
        model = default_model_path()
    for path, param in ((output, "output"), (grid, "grid")):
        if path is not None:
            check_writable(path, param)
    config = EvalConfig(seed=eval_seed, inception=inception)
    started = time.perf_counter()
    with warnings_as_lines(quiet=quiet), Console(stderr=True).status("evaluating…") as status:
        stage = _stages(status, started, progress and not quiet, as_json)
        if model is not None:
            result = evaluate_model(model, data, n=n, seed=seed, config=config, provider=provider,
                                    inception_range=inception_range, grid=grid,
                                    latent_dim=latent_dim, allow_nonfinite=allow_nonfinite,
                                    on_stage=stage)
        else:
            stage("reading the images, real data and feature network")
            result = _evaluate_files(images, data, image_size, channels, config, grid)
    if output is not None:
        with atomic_path(output, "output") as tmp:
            tmp.write_text(result.to_json() + "\n")
    if as_json or not quiet:
        typer.echo(result.to_json() if as_json else result.format())
    if not as_json and not quiet:
        written = [str(path) for path in (output, grid) if path is not None]
        typer.echo(f"took {time.perf_counter() - started:.1f} s"
                   + (f"; wrote {', '.join(written)}" if written else ""))


def _stages(status: object, started: float, enabled: bool,
            to_stderr: bool) -> Callable[[str], None]:
    """Each evaluation stage as it starts: the spinner's text on a terminal, else a line."""

    def stage(name: str) -> None:
        if not enabled:
            return
        if on_terminal():
            status.update(f"evaluating: {name}…")  # type: ignore[attr-defined]
        else:
            typer.echo(f"eval: {name} (at {time.perf_counter() - started:.1f} s)", err=to_stderr)

    return stage


def _evaluate_files(images: Path, data: str, image_size: int, channels: int | None,
                    config: EvalConfig, grid: Path | None) -> EvalResult:
    try:
        fakes = load_dataset(images, image_size, channels)
    except InputError as exc:
        raise exc.for_param("images") from None
    return evaluate_images(fakes.images, data, config=config, grid=grid)
