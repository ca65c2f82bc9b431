"""``ganedge train``: train a GAN generator and write ckpt.pt (needs the torch extra)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from ganedge.cli.common import one_line_errors, require_torch
from ganedge.errors import InputError
from ganedge.files import check_folder

# CLI option → TrainConfig field (model fields are nested under "model")
MODEL_FIELDS = ("image_size", "latent_dim", "base_channels")


@one_line_errors
def train(
    out: Path = typer.Option(Path("runs/digits"), "--out", help="Folder for ckpt.pt, run.json, samples/."),
    preset: str = typer.Option("digits-dcgan", "--preset", help="Named preset: digits-dcgan, digits-edge, digits-stylegan2."),
    resume: Path = typer.Option(None, "--resume", help="Continue exactly from this checkpoint (last.pt)."),
    steps: int = typer.Option(None, "--steps", help="Generator updates (preset's by default)."),
    batch_size: int = typer.Option(None, "--batch-size", help="Images per step (per process)."),
    seed: int = typer.Option(None, "--seed", help="Seed for init, data order, latents."),
    data: str = typer.Option(None, "--data", help="Dataset: digits, stacked-digits, an image "
                             "folder or a .npz."),
    arch: str = typer.Option(None, "--arch", help="Architecture: mlp, dcgan, resize_conv, resnet, stylegan2."),
    loss: str = typer.Option(None, "--loss", help="Loss: nonsaturating, minimax, wasserstein, hinge, "
                             "least_squares, relativistic_average."),
    reg: list[str] = typer.Option(None, "--reg", help="Regularizer (repeatable): wgan_gp, r1, "
                                  "weight_clipping, spectral_norm, minibatch_stddev, "
                                  "label_smoothing, diffaugment, path_length (stylegan2), "
                                  "feature_matching, minibatch_discrimination, "
                                  "historical_averaging."),
    pack: int = typer.Option(None, "--pack", help="PacGAN: D judges this many samples at once "
                             "(1: off)."),
    fm_weight: float = typer.Option(None, "--fm-weight", help="λ of feature_matching."),
    mbd_kernels: int = typer.Option(None, "--mbd-kernels", help="Kernels of "
                                    "minibatch_discrimination."),
    ha_weight: float = typer.Option(None, "--ha-weight", help="λ of historical_averaging."),
    conditional: bool = typer.Option(None, "--conditional/--unconditional", help="Train on labels."),
    image_size: int = typer.Option(None, "--image-size", help="Square image size, 16-256."),
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
    eval_every: int = typer.Option(0, "--eval-every", help="Score the generator (FD, KID, "
                                   "precision, …) every K steps into eval.jsonl; best.pt by FD "
                                   "(0: off)."),
    eval_data: str = typer.Option(None, "--eval-data", help="Real data to score against "
                                  "(default: the training data)."),
    eval_n: int = typer.Option(None, "--eval-n", help="Images generated per evaluation "
                               "(default: the held-out real split's size)."),
    best_metric: str = typer.Option(None, "--best-metric", help="Metric choosing best.pt: "
                                    "diversity, or with --eval-every fd (default), kid, …"),
    best_mode: str = typer.Option(None, "--best-mode", help="min or max (default: the "
                                  "metric's own)."),
    logger: str = typer.Option(None, "--logger", help="Metric logger: csv (OUT/metrics.csv, the "
                               "default), tensorboard (OUT/tensorboard) or none."),
    threads: int = typer.Option(None, "--threads", help="CPU threads for PyTorch (default: all)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Train a GAN generator and write self-describing checkpoints, samples and health logs."""
    require_torch("train")
    check_folder(out, param="out")
    import torch

    from trainer.callbacks import ExportCallback, eval_metric_names
    from trainer.loop import train as run_training

    if threads:
        torch.set_num_threads(threads)
    overrides = {k: v for k, v in locals().items() if k in _FIELDS and v is not None}
    if reg:
        overrides["regularizers"] = tuple(reg)
    evaluation = _eval_callback(eval_every, eval_data, eval_n)
    cfg = _config(preset, resume, overrides, eval_every)
    if evaluation is not None:
        evaluation.check(cfg)
    elif cfg.best_metric in eval_metric_names():
        typer.echo(f"warning: best_metric {cfg.best_metric} is reported only with --eval-every: "
                   "without it best.pt stays as it is", err=True)
    typer.echo(json.dumps(cfg.to_dict(), sort_keys=True))
    # the eval callback first: checkpoints store callback state by position
    callbacks = ((evaluation,) if evaluation else ()) + (
        (ExportCallback(export_every),) if export_every else ())
    result = run_training(cfg, out, show_progress=progress, callbacks=callbacks, resume=resume)
    figures = ", ".join(f"{k} {result.health[k]:.3f}" for k in ("d_real", "d_fake", "diversity")
                        if k in result.health)
    typer.echo(f"trained {cfg.arch} for {result.step} steps (D {result.d_loss:.3f}, "
               f"G {result.g_loss:.3f}; {figures}) → {result.checkpoint}")
    if evaluation is not None:
        typer.echo(_best_line(evaluation, cfg, out))


_FIELDS = ("steps", "batch_size", "seed", "arch", "loss", "conditional", "lr_g", "lr_d", "n_critic",
           "ema", "gp_weight", "r1_gamma", "diffaugment", "pack", "fm_weight", "mbd_kernels",
           "ha_weight", "device", "log_every", "sample_every", "checkpoint_every", "data",
           "best_metric", "best_mode", "logger", *MODEL_FIELDS)
TRAINER_METRICS = {"diversity": "max"}  # reported by the loop itself → the mode that improves it


def _eval_callback(every: int, data: str | None, n: int | None) -> Any:
    """The EvalCallback the options ask for, or None; checks --eval-data before any work."""
    from trainer.callbacks import EvalCallback

    if not every:
        for value, flag in ((data, "--eval-data"), (n, "--eval-n")):
            if value is not None:
                raise InputError(f"{flag}: only used with --eval-every K: add it or drop {flag}")
        return None
    return EvalCallback(every, data, n)


def _config(preset: str, resume: Path | None, overrides: dict[str, Any], eval_every: int) -> Any:
    """The preset (or the resumed checkpoint's config) with command-line overrides applied, and
    with --eval-every: best.pt by fd unless a best metric is set, checkpoints on eval steps."""
    from dataclasses import replace

    from trainer.checkpoint import resume_config
    from trainer.config import preset as make_preset

    base = resume_config(resume) if resume else make_preset(preset)
    model = {k: overrides.pop(k) for k in MODEL_FIELDS if k in overrides}
    if "data" in overrides:
        overrides["dataset"] = overrides.pop("data")
    if eval_every and not overrides.get("best_metric", base.best_metric):
        overrides["best_metric"] = "fd"
    if "best_metric" in overrides:
        modes = _metric_modes(eval_every)
        _check_metric(overrides["best_metric"], modes)
        overrides.setdefault("best_mode", modes[overrides["best_metric"]])
    every = overrides.get("checkpoint_every", base.checkpoint_every)
    if eval_every and "checkpoint_every" not in overrides and (not every or eval_every % every):
        overrides["checkpoint_every"] = eval_every
    return replace(base, model=replace(base.model, **model), **overrides)


def _metric_modes(eval_every: int) -> dict[str, str]:
    """Metrics a run with these options reports → the best_mode that improves each."""
    from trainer.callbacks import eval_metric_names

    return {**TRAINER_METRICS, **(eval_metric_names() if eval_every else {})}


def _check_metric(metric: str, modes: dict[str, str]) -> None:
    from trainer.callbacks import eval_metric_names

    if metric in modes:
        return
    if metric in eval_metric_names():
        raise InputError(f"--best-metric: {metric} comes from evaluation: add --eval-every K")
    raise InputError(f"--best-metric: unknown metric {metric!r}: choose one of {sorted(modes)}")


def _best_line(evaluation: Any, cfg: Any, out: Path) -> str:
    """One line: the best evaluation by best_metric (fd when best_metric is not an eval figure)."""
    from trainer.callbacks import eval_metric_names

    modes = eval_metric_names()
    metric = cfg.best_metric if cfg.best_metric in modes else "fd"
    record = evaluation.best(metric, cfg.best_mode if metric == cfg.best_metric else modes[metric])
    if record is None:
        return f"eval: none ran (--eval-every {evaluation.every} > {cfg.steps} steps)"
    where = f" → {out / 'best.pt'}" if metric == cfg.best_metric else ""
    return (f"eval: best {metric} {record[metric]:.4g} "
            f"(real-vs-real {record['floor'][metric]:.4g}) at step {record['step']} of "
            f"{len(evaluation.history)} evaluations{where}; all in {out / 'eval.jsonl'}")
