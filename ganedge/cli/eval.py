"""``ganedge eval``: score a model (or a folder / .npz of images) against real data, offline."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console

from ganedge.cli import options as opt
from ganedge.cli.common import one_line_errors
from ganedge.datasets import load_dataset
from ganedge.errors import InputError
from ganedge.evaluation import EvalConfig, EvalResult, evaluate_images, evaluate_model
from ganedge.files import atomic_path, check_writable
from ganedge.providers import PROVIDER_CHOICES
from ganedge.runtime import default_model_path


@one_line_errors
def eval_command(
    model: Path = typer.Argument(None, help="ONNX model written by `ganedge export` (default: the "
                                 "bundled digits model)."),
    data: str = typer.Option("digits", "--data", help="Real data: digits, an image folder or a .npz file."),
    images: Path = typer.Option(None, "--images", help="Score these images (folder or .npz) instead of a model."),
    n: int = typer.Option(None, "-n", help="Images to sample (default: size of the held-out real split)."),
    seed: int = typer.Option(0, "--seed", help="First sampling seed; seeds seed..seed+n-1."),
    eval_seed: int = typer.Option(0, "--eval-seed", help="Seed of the real split, feature network and KID subsets."),
    channels: int = typer.Option(None, "--channels", help="Channels (1 or 3) for --images and the data beside them; a model sets its own."),
    image_size: int = typer.Option(32, "--image-size", help="Image side for --images (a model sets its own)."),
    inception: Path = typer.Option(None, "--inception", help="Local Inception .onnx for FID (never downloaded)."),
    inception_range: str = typer.Option("0,1", "--inception-range", help="Input range of those weights: 0,1 | -1,1 | 0,255."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
    output: Path = typer.Option(None, "-o", "--output", help="Also write the result as JSON here."),
    grid: Path = typer.Option(None, "--grid", help="Also write a PNG: one row of samples per class (modes)."),
    provider: str = typer.Option("auto", "--provider", help=f"One of {', '.join(PROVIDER_CHOICES)}."),
    latent_dim: int = opt.LATENT_DIM,
    allow_nonfinite: bool = opt.ALLOW_NONFINITE,
) -> None:
    """FD, KID, precision/recall/density/coverage and modes, beside the real-vs-real floor."""
    if model is not None and images is not None:
        raise InputError("model/--images: give a model file or --images, not both")
    if images is None and model is None:
        model = default_model_path()
    for path, what in ((output, "--output"), (grid, "--grid")):
        if path is not None:
            check_writable(path, what)
    config = EvalConfig(seed=eval_seed, inception=inception)
    started = time.perf_counter()
    with Console(stderr=True).status("evaluating (sampling, feature network, metrics)…"):
        if model is not None:
            result = evaluate_model(model, data, n=n, seed=seed, config=config, provider=provider,
                                    inception_range=inception_range, grid=grid,
                                    latent_dim=latent_dim, allow_nonfinite=allow_nonfinite)
        else:
            result = _evaluate_files(images, data, image_size, channels, config, grid)
    if output is not None:
        with atomic_path(output, "--output") as tmp:
            tmp.write_text(result.to_json() + "\n")
    typer.echo(result.to_json() if as_json else result.format())
    if not as_json:
        written = [str(path) for path in (output, grid) if path is not None]
        typer.echo(f"took {time.perf_counter() - started:.1f} s"
                   + (f"; wrote {', '.join(written)}" if written else ""))


def _evaluate_files(images: Path, data: str, image_size: int, channels: int | None,
                    config: EvalConfig, grid: Path | None) -> EvalResult:
    try:
        fakes = load_dataset(images, image_size, channels)
    except InputError as exc:
        raise InputError(str(exc).replace("--data:", "--images:", 1)) from None
    return evaluate_images(fakes.images, data, config=config, grid=grid)
