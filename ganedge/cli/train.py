"""``ganedge train``: train a GAN generator and write ckpt.pt (needs the torch extra)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from ganedge.cli.common import one_line_errors, require_torch

# CLI option → TrainConfig field (model fields are nested under "model")
MODEL_FIELDS = ("image_size", "latent_dim", "base_channels")


@one_line_errors
def train(
    out: Path = typer.Option(Path("runs/digits"), "--out", help="Folder for ckpt.pt, run.json, samples/."),
    preset: str = typer.Option("digits-dcgan", "--preset", help="Named preset: digits-dcgan, digits-edge."),
    resume: Path = typer.Option(None, "--resume", help="Continue exactly from this checkpoint (last.pt)."),
    steps: int = typer.Option(None, "--steps", help="Generator updates (preset's by default)."),
    batch_size: int = typer.Option(None, "--batch-size", help="Images per step (per process)."),
    seed: int = typer.Option(None, "--seed", help="Seed for init, data order, latents."),
    data: str = typer.Option(None, "--data", help="Dataset: digits, an image folder or a .npz."),
    arch: str = typer.Option(None, "--arch", help="Architecture: mlp, dcgan, resize_conv, resnet."),
    loss: str = typer.Option(None, "--loss", help="Loss: nonsaturating, minimax, wasserstein, hinge, "
                             "least_squares, relativistic_average."),
    reg: list[str] = typer.Option(None, "--reg", help="Regularizer (repeatable): wgan_gp, r1, "
                                  "weight_clipping, spectral_norm, minibatch_stddev, "
                                  "label_smoothing, diffaugment."),
    conditional: bool = typer.Option(None, "--conditional/--unconditional", help="Train on labels."),
    image_size: int = typer.Option(None, "--image-size", help="Square image size, 16-128."),
    latent_dim: int = typer.Option(None, "--latent-dim", help="Length of z."),
    base_channels: int = typer.Option(None, "--base-channels", help="Width of the last G layer."),
    lr_g: float = typer.Option(None, "--lr-g", help="Generator learning rate."),
    lr_d: float = typer.Option(None, "--lr-d", help="Discriminator learning rate."),
    n_critic: int = typer.Option(None, "--n-critic", help="D updates per G update."),
    ema: float = typer.Option(None, "--ema", help="Generator EMA decay (0: off)."),
    gp_weight: float = typer.Option(None, "--gp-weight", help="λ of wgan_gp."),
    r1_gamma: float = typer.Option(None, "--r1-gamma", help="γ of r1."),
    diffaugment: str = typer.Option(None, "--diffaugment", help="Policy, e.g. color,translation."),
    device: str = typer.Option(None, "--device", help="auto, cpu or cuda."),
    log_every: int = typer.Option(None, "--log-every", help="Steps between health records."),
    sample_every: int = typer.Option(None, "--sample-every", help="Steps between sample grids."),
    checkpoint_every: int = typer.Option(None, "--checkpoint-every", help="Steps between checkpoints."),
    export_every: int = typer.Option(0, "--export-every", help="Also export ONNX every K steps (0: off)."),
    threads: int = typer.Option(None, "--threads", help="CPU threads for PyTorch (default: all)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Train a GAN generator and write self-describing checkpoints, samples and health logs."""
    require_torch("train")
    import torch

    from trainer.callbacks import ExportCallback
    from trainer.loop import train as run_training

    if threads:
        torch.set_num_threads(threads)
    overrides = {k: v for k, v in locals().items() if k in _FIELDS and v is not None}
    if reg:
        overrides["regularizers"] = tuple(reg)
    cfg = _config(preset, resume, overrides)
    typer.echo(json.dumps(cfg.to_dict(), sort_keys=True))
    callbacks = (ExportCallback(export_every),) if export_every else ()
    result = run_training(cfg, out, show_progress=progress, callbacks=callbacks, resume=resume)
    figures = ", ".join(f"{k} {result.health[k]:.3f}" for k in ("d_real", "d_fake", "diversity")
                        if k in result.health)
    typer.echo(f"trained {cfg.arch} for {result.step} steps (D {result.d_loss:.3f}, "
               f"G {result.g_loss:.3f}; {figures}) → {result.checkpoint}")


_FIELDS = ("steps", "batch_size", "seed", "arch", "loss", "conditional", "lr_g", "lr_d", "n_critic",
           "ema", "gp_weight", "r1_gamma", "diffaugment", "device", "log_every", "sample_every",
           "checkpoint_every", "data", *MODEL_FIELDS)


def _config(preset: str, resume: Path | None, overrides: dict[str, Any]) -> Any:
    """The preset (or the resumed checkpoint's config) with command-line overrides applied."""
    from dataclasses import replace

    from trainer.checkpoint import load_checkpoint
    from trainer.config import TrainConfig, preset as make_preset

    base = (TrainConfig.from_dict(load_checkpoint(resume)["train_config"]) if resume
            else make_preset(preset))
    model = {k: overrides.pop(k) for k in MODEL_FIELDS if k in overrides}
    if "data" in overrides:
        overrides["dataset"] = overrides.pop("data")
    return replace(base, model=replace(base.model, **model), **overrides)
