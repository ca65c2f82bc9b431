"""``ganedge sample``: images from an exported model, as one grid PNG."""

from __future__ import annotations

from pathlib import Path

import typer

from ganedge.cli.common import one_line_errors
from ganedge.imaging import make_grid, save_png
from ganedge.providers import PROVIDER_CHOICES
from ganedge.runtime import load


@one_line_errors
def sample(
    model: Path = typer.Argument(..., help="ONNX model written by `ganedge export`."),
    n: int = typer.Option(64, "-n", help="Number of images; seeds seed..seed+n-1."),
    seed: int = typer.Option(0, "--seed", help="First seed."),
    output: Path = typer.Option(Path("samples.png"), "-o", "--output", help="Grid PNG to write."),
    provider: str = typer.Option("auto", "--provider", help=f"One of {', '.join(PROVIDER_CHOICES)}."),
) -> None:
    """Sample images from a model and write them as a grid PNG (one seed, one image)."""
    gen = load(model, provider=provider)
    images = gen.sample(n, seed=seed)
    save_png(make_grid(images), output)
    typer.echo(f"wrote {output} ({len(images)} images, seeds {seed}-{seed + n - 1}, {gen.providers[0]})")
