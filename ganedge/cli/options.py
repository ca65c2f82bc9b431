"""Options shared by the commands that load a model (sample, walk, info), and their progress bar."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ganedge.providers import PROVIDER_CHOICES
from ganedge.runtime import GeneratorModel, load

if TYPE_CHECKING:
    from rich.progress import Progress

MODEL = typer.Argument(None, help="ONNX (or .ort) model written by `ganedge export` "
                                  "(default: the bundled digits model).", show_default=False)
PROVIDER = typer.Option("auto", "--provider", help=f"One of {', '.join(PROVIDER_CHOICES)}.")
THREADS = typer.Option(None, "--threads", help="ONNX Runtime intra-op threads "
                                               "(default: one per physical core).")
STRICT_PROVIDER = typer.Option(False, "--strict-provider",
                               help="Fail instead of warning when the session does not run on "
                                    "the provider asked for.")
LATENT_DIM = typer.Option(None, "--latent-dim", help="Latent size of a third-party ONNX "
                                                     "generator that has no ganedge contract.")
ALLOW_NONFINITE = typer.Option(False, "--allow-nonfinite",
                               help="Write NaN/Inf model output as black/white pixels instead of "
                                    "failing.")
PROGRESS = typer.Option(True, "--progress/--no-progress", help="Show a progress bar.")
BATCH_SIZE = typer.Option(64, "--batch-size", help="Images per session run (does not change "
                                                   "any image).")
TRUNCATION = typer.Option(1.0, "--truncation", "--psi",
                          help="ψ in [0, 1]: z' = ψ·z pulls latents toward the prior's mean "
                               "(zero), for StyleGAN models w' = w_avg + ψ·(w − w_avg) in W; "
                               "1 is none, lower is cleaner but less varied.")


def open_model(model: Path | None, provider: str, threads: int | None, strict: bool,
               latent_dim: int | None, allow_nonfinite: bool = False) -> GeneratorModel:
    """Load the model; a provider fallback warning becomes one ``warning: …`` line on stderr,
    and a graph with a fixed batch size one ``note: …`` line."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        gen = load(model, provider=provider, threads=threads, strict_provider=strict,
                   latent_dim=latent_dim, allow_nonfinite=allow_nonfinite)
    for warning in caught:
        typer.echo(f"warning: {warning.message}", err=True)
    if gen.static_batch is not None:
        typer.echo(f"note: the model's graph has a fixed batch of {gen.static_batch}: it runs "
                   f"{gen.static_batch} image(s) per session run", err=True)
    return gen


class _NoBar:
    """What ``progress_bar`` gives when nothing is shown: the same calls, no rich import."""

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add_task(self, description: str, total: int) -> int:
        return 0

    def advance(self, task: int, advance: float = 1) -> None:
        pass


def progress_bar(enabled: bool) -> Progress | Any:
    """A rich progress bar on stderr (stdout stays for the result line)."""
    # off when stderr is not a terminal: logs and pipes get the result line, not bar residue;
    # rich loads only for a bar that is shown (its import is a third of `sample -n 1`'s start-up)
    if not enabled or not sys.stderr.isatty():
        return _NoBar()
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    console = Console(stderr=True)
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TimeRemainingColumn(), console=console,
                    disable=not enabled or not console.is_terminal, transient=True)
