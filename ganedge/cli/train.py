"""``ganedge train``: train a GAN generator and write ckpt.pt (needs the train extra).

Imported only when ``train`` runs or its help is asked for (see ``LAZY_COMMANDS``): its choices
come from the trainer's registries, which live on the torch side.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import fields
from pathlib import Path
from typing import Any, Literal

import typer

from ganedge.cli.common import JSON, QUIET, VERSION, choices, one_line_errors
from ganedge.cli.progress import Reporter
from ganedge.errors import InputError
from ganedge.io.files import check_folder
from trainer.callbacks import CALLBACKS, Callback, EvalCallback, eval_metric_names
from trainer.checkpoint import resume_config
from trainer.config import (
    PRECISIONS,
    PRESETS,
    ArchConfig,
    TrainConfig,
    preset as make_preset,
    resolve,
)
from trainer.loggers import LOGGERS
from trainer.loop import Trainer, TrainResult, train as run_training
from trainer.losses import LOSSES
from trainer.models import ARCHITECTURES
from trainer.regularizers import REGULARIZERS

# choice types from the registries (plugins included): help lists them, completion offers them
Arch = Literal[tuple(ARCHITECTURES.names())]  # type: ignore[valid-type]
Loss = Literal[tuple(LOSSES.names())]  # type: ignore[valid-type]
NO_REG = "none"  # --reg none: train with no regularizer, whatever the preset has
Reg = choices("Reg", (*REGULARIZERS.names(), NO_REG))
Preset = Literal[tuple(PRESETS)]  # type: ignore[valid-type]
Logger = Literal[tuple(LOGGERS.names())]  # type: ignore[valid-type]
Device = Literal["auto", "cpu", "cuda"]
Precision = Literal[PRECISIONS]  # type: ignore[valid-type]
Mode = Literal["min", "max"]
# the eval callback's own parameters, as this command spells them
EVAL_FLAGS = {"data": "--eval-data", "every": "--eval-every", "n": "--eval-n"}
# Every TrainConfig/ArchConfig field is either a parameter of `train` of the same name (the
# exceptions in OPTION_FIELDS), handed to `resolve` as given, or listed here with the reason it
# has no option; tests/trainer/test_cli.py fails on a field that is neither.
OPTION_FIELDS = {"reg": "regularizers"}  # parameter → the field it sets, where the names differ
NOT_ON_CLI = {
    "model": "set through its fields' options (--image-size, --latent-dim, --base-channels)",
    "channels": "taken from the data", "num_classes": "taken from the data (--conditional)",
    "minibatch_stddev": "set by its regularizer",
    "minibatch_kernels": "set by the minibatch_discrimination regularizer (--mbd-kernels)",
    "w_dim": "StyleGAN shape: the preset's", "mapping_layers": "StyleGAN shape: the preset's",
    "channel_max": "StyleGAN shape: the preset's",
    "beta1": "Adam's β: the preset's", "beta2": "Adam's β: the preset's",
    "r1_every": "lazy R1 interval: the preset's", "pl_weight": "path_length: the preset's",
    "pl_every": "path_length: the preset's", "clip_value": "weight_clipping: the preset's",
    "label_smoothing": "label_smoothing: the preset's",
    "collapse_ratio": "health threshold: the API's", "max_rollbacks": "health: the API's",
    "rollback_lr_factor": "health: the API's",
}


@one_line_errors(aliases={"regularizers": "--reg", **EVAL_FLAGS})
def train(
    out: Path = typer.Option(Path("runs/digits"), "-o", "--output", "--out", metavar="DIR",
                             help="Folder for ckpt.pt, run.json, samples/."),
    preset: Preset = typer.Option("digits-dcgan", "--preset", help="Named preset."),
    resume: Path = typer.Option(None, "--resume", metavar="CKPT",
                                help="Continue exactly from this checkpoint (last.pt)."),
    steps: int = typer.Option(None, "--steps", metavar="N",
                              help="Generator updates (preset's by default)."),
    batch_size: int = typer.Option(None, "--batch-size", metavar="B",
                                   help="Images per step (per process)."),
    seed: int = typer.Option(None, "--seed", metavar="S", help="Seed for init, data order, "
                                                               "latents."),
    dataset: str = typer.Option(None, "--data", metavar="DATA",
                                help="Dataset: digits, stacked-digits, an image folder or a "
                                     ".npz."),
    arch: Arch = typer.Option(None, "--arch", help="Architecture."),
    loss: Loss = typer.Option(None, "--loss", help="Adversarial loss."),
    reg: list[Reg] = typer.Option(None, "--reg", metavar="NAME",  # type: ignore[valid-type]
                                  help="Regularizer, repeatable (replaces the preset's; none: "
                                       f"no regularizer): {', '.join(REGULARIZERS.names())}."),
    pack: int = typer.Option(None, "--pack", metavar="N", help="PacGAN: D judges this many "
                             "samples at once (1: off)."),
    fm_weight: float = typer.Option(None, "--fm-weight", metavar="λ",
                                    help="λ of feature_matching."),
    mbd_kernels: int = typer.Option(None, "--mbd-kernels", metavar="K",
                                    help="Kernels of minibatch_discrimination."),
    ha_weight: float = typer.Option(None, "--ha-weight", metavar="λ",
                                    help="λ of historical_averaging."),
    conditional: bool = typer.Option(None, "--conditional/--unconditional",
                                     help="Train on labels."),
    image_size: int = typer.Option(None, "--image-size", metavar="S",
                                   help="Square image size, 16-256."),
    latent_dim: int = typer.Option(None, "--latent-dim", metavar="D", help="Length of z."),
    base_channels: int = typer.Option(None, "--base-channels", metavar="C",
                                      help="Width of the last G layer."),
    lr_g: float = typer.Option(None, "--lr-g", metavar="LR", help="Generator learning rate."),
    lr_d: float = typer.Option(None, "--lr-d", metavar="LR",
                               help="Discriminator learning rate."),
    n_critic: int = typer.Option(None, "--n-critic", metavar="N", help="D updates per G update."),
    ema: float = typer.Option(None, "--ema", metavar="DECAY", help="Generator EMA decay (0: off)."),
    gp_weight: float = typer.Option(None, "--gp-weight", metavar="λ", help="λ of wgan_gp."),
    r1_gamma: float = typer.Option(None, "--r1-gamma", metavar="γ", help="γ of r1."),
    diffaugment: str = typer.Option(None, "--diffaugment", metavar="POLICY",
                                    help="Policy, e.g. color,translation."),
    device: Device = typer.Option(None, "--device", help="Where to train (auto: CUDA if any)."),
    precision: Precision = typer.Option(None, "--precision", help="Arithmetic of the training "
                                        "step: fp32, fp16 (loss-scaled) or bf16 (default auto: "
                                        "bf16 on a GPU that has it, else fp16; fp32 on the CPU)."),
    log_every: int = typer.Option(None, "--log-every", metavar="N",
                                  help="Steps between health records."),
    sample_every: int = typer.Option(None, "--sample-every", metavar="N",
                                     help="Steps between sample grids."),
    checkpoint_every: int = typer.Option(None, "--checkpoint-every", metavar="N",
                                         help="Steps between checkpoints."),
    export_every: int = typer.Option(0, "--export-every", metavar="K",
                                     help="Also export ONNX every K steps (0: off)."),
    eval_every: int = typer.Option(0, "--eval-every", metavar="K", help="Score the generator "
                                   "(FD, KID, precision, …) every K steps into eval.jsonl; "
                                   "best.pt by FD (0: off)."),
    eval_data: str = typer.Option(None, "--eval-data", metavar="DATA", help="Real data to score "
                                  "against (default: the training data)."),
    eval_n: int = typer.Option(None, "--eval-n", metavar="N", help="Images generated per "
                               "evaluation (default: the held-out real split's size)."),
    best_metric: str = typer.Option(None, "--best-metric", metavar="METRIC", help="Metric "
                                    "choosing best.pt: diversity, or with --eval-every fd "
                                    "(default), kid, …"),
    best_mode: Mode = typer.Option(None, "--best-mode", help="Which way the metric improves "
                                   "(default: the metric's own)."),
    logger: Logger = typer.Option(None, "--logger", help="Metric logger: csv (OUT/metrics.csv, "
                                  "the default), tensorboard (OUT/tensorboard) or none."),
    threads: int = typer.Option(None, "--threads", metavar="N",
                                help="CPU threads for PyTorch (default: all)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress: a bar "
                                  "on a terminal, else a line every 10% or 30 s."),
    as_json: bool = JSON,
    quiet: bool = QUIET,
    version: bool = VERSION,
) -> None:
    """Train a GAN generator and write self-describing checkpoints, samples and health logs."""
    given = dict(locals())  # first, while it holds only the parameters as passed
    check_folder(out, param="out")
    if threads:
        import torch  # already loaded by the trainer modules; named here, where it is used

        torch.set_num_threads(threads)
    evaluation = _eval_callback(eval_every, eval_data, eval_n)
    base = resume_config(resume) if resume else make_preset(preset)
    changes = {field: given[name] for name, field in config_options().items()}
    changes["regularizers"] = _regularizers(reg)
    cfg = resolve(base, changes, eval_every, eval_metric_names())
    if evaluation is not None:
        evaluation.check(cfg)
    elif cfg.best_metric in eval_metric_names() and not quiet:
        typer.echo(f"warning: best_metric {cfg.best_metric} is reported only with --eval-every: "
                   "without it best.pt stays as it is", err=True)
    if not quiet and not as_json:
        typer.echo(_summary(cfg, out, resume))
    # the eval callback first: its figures are reported before best.pt is chosen
    callbacks: tuple[Callback, ...] = ((evaluation,) if evaluation else ()) + (
        (CALLBACKS.get("export")(export_every),) if export_every else ())
    with Reporter("train", cfg.steps, "steps", enabled=progress and not quiet,
                  to_stderr=as_json) as reporter:
        result = run_training(cfg, out, callbacks=(*callbacks, _Progress(reporter)),
                              resume=resume)
    best = _best(evaluation, cfg, out) if evaluation is not None else None
    if as_json:
        typer.echo(json.dumps(_result(cfg, result, out, best)))
    elif not quiet:
        typer.echo(_done_line(cfg, result))
        if evaluation is not None:
            typer.echo(_best_line(best, evaluation, cfg, out))


def config_options() -> dict[str, str]:
    """The parameters of :func:`train` that set a TrainConfig/ArchConfig field → that field."""
    known = {f.name for f in fields(TrainConfig)} | {f.name for f in fields(ArchConfig)}
    return {name: OPTION_FIELDS.get(name, name) for name in inspect.signature(train).parameters
            if OPTION_FIELDS.get(name, name) in known}


class _Progress(Callback):
    """Hands each finished step's losses to the command's progress reporter; they are read
    from the device only when a line or the bar shows them."""

    def __init__(self, reporter: Reporter) -> None:
        self.reporter = reporter

    def on_train_start(self, trainer: Trainer) -> None:
        self.reporter.restart(trainer.step)  # a resumed run starts part-way

    def on_step_end(self, trainer: Trainer, step: int, logs: dict[str, Any]) -> None:
        if trainer.is_main:
            self.reporter.update(step, lambda: _progress_figures(trainer, logs))


def _progress_figures(trainer: Trainer, logs: dict[str, Any]) -> str:
    """``D 1.234 G 0.567``, and under fp16 the steps the loss scaler skipped so far."""
    text = f"D {float(logs['d_loss']):.3f} G {float(logs['g_loss']):.3f}"
    if trainer.precision == "fp16":
        skipped = trainer.skipped_steps()
        text += f", skipped D {skipped['d']} G {skipped['g']}"
    return text


def _eval_callback(every: int, data: str | None, n: int | None) -> EvalCallback | None:
    """The EvalCallback the options ask for, or None; checks --eval-data before any work."""
    if not every:
        for value, flag in ((data, "--eval-data"), (n, "--eval-n")):
            if value is not None:
                raise InputError(f"only used with --eval-every K: add it or drop {flag}",
                                 param=flag.lstrip("-").replace("-", "_"))
        return None
    return EvalCallback(every, data, n)


def _summary(cfg: TrainConfig, out: Path, resume: Path | None) -> str:
    """Two lines a person reads before a long run; the whole config is in out/run.json."""
    m = cfg.model
    regs = ", ".join(cfg.regularizers) or "no regularizer"
    start = f"resuming {resume}" if resume else "training"
    precision = f" in {cfg.precision}" if cfg.precision != "auto" else ""
    return (f"{start}: {cfg.arch} {m.image_size}×{m.image_size}, z {m.latent_dim}, "
            f"{'conditional, ' if cfg.conditional else ''}{cfg.loss} loss, {regs}, on "
            f"{cfg.dataset}\n  {cfg.steps} steps of {cfg.batch_size}{precision}, "
            f"lr G {cfg.lr_g:g} / D "
            f"{cfg.lr_d:g}, seed {cfg.seed} → {out} (config: {out / 'run.json'})")


def _done_line(cfg: TrainConfig, result: TrainResult) -> str:
    figures = ", ".join(f"{k} {result.health[k]:.3f}" for k in ("d_real", "d_fake", "diversity")
                        if k in result.health)
    figures = f"; {figures}" if figures else ""
    return (f"trained {cfg.arch} for {result.step} steps (D {result.d_loss:.3f}, "
            f"G {result.g_loss:.3f}{figures}) → {result.checkpoint}")


def _best(evaluation: EvalCallback, cfg: TrainConfig, out: Path) -> dict[str, Any] | None:
    """The best evaluation by best_metric (fd when best_metric is not an eval figure)."""
    modes = eval_metric_names()
    metric = cfg.best_metric if cfg.best_metric in modes else "fd"
    record = evaluation.best(metric, cfg.best_mode if metric == cfg.best_metric else modes[metric])
    return None if record is None else {"metric": metric, **record}


def _best_line(best: dict[str, Any] | None, evaluation: EvalCallback, cfg: TrainConfig,
               out: Path) -> str:
    if best is None:
        return f"eval: none ran (--eval-every {evaluation.every} > {cfg.steps} steps)"
    metric = best["metric"]
    where = f" → {out / 'best.pt'}" if metric == cfg.best_metric else ""
    return (f"eval: best {metric} {best[metric]:.4g} "
            f"(real-vs-real {best['floor'][metric]:.4g}) at step {best['step']} of "
            f"{len(evaluation.history)} evaluations{where}; all in {out / 'eval.jsonl'}")


def _result(cfg: TrainConfig, result: TrainResult, out: Path,
            best: dict[str, Any] | None) -> dict[str, Any]:
    return {"checkpoint": str(result.checkpoint), "out": str(out), "steps": result.step,
            "d_loss": result.d_loss, "g_loss": result.g_loss, "health": result.health,
            "best_eval": best, "config": cfg.to_dict()}


def _regularizers(reg: list[Any] | None) -> tuple[str, ...] | None:
    """--reg values as the config's tuple; None keeps the preset's; ``none`` clears it."""
    if not reg:
        return None
    names = tuple(r.value for r in reg)
    if NO_REG in names and len(names) > 1:
        raise InputError(f"{NO_REG!r} cannot be combined with other regularizers (got "
                          f"{', '.join(names)})", param="regularizers")
    return () if names == (NO_REG,) else names
