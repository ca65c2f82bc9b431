"""``ganedge train``: train a GAN generator and write ckpt.pt (needs the torch extra)."""

from __future__ import annotations

from pathlib import Path

import typer

from ganedge.cli.common import one_line_errors, require_torch


@one_line_errors
def train(
    out: Path = typer.Option(Path("runs/digits"), "--out", help="Folder for ckpt.pt, run.json, samples/."),
    preset: str = typer.Option("digits-dcgan", "--preset", help="Named training preset."),
    steps: int = typer.Option(None, "--steps", help="Generator updates (preset's by default)."),
    batch_size: int = typer.Option(None, "--batch-size", help="Images per step."),
    seed: int = typer.Option(None, "--seed", help="Seed for data order, init and sampling."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Train a GAN generator on a built-in dataset and write a self-describing checkpoint."""
    require_torch("train")
    from trainer.config import preset as make_preset
    from trainer.loop import train as run_training

    cfg = make_preset(preset, steps=steps, batch_size=batch_size, seed=seed)
    result = run_training(cfg, out, show_progress=progress)
    typer.echo(f"trained {cfg.arch} for {result.step} steps (D {result.d_loss:.3f}, "
               f"G {result.g_loss:.3f}) → {result.checkpoint}")
