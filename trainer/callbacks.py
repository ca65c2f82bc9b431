"""Callbacks: typed hooks into the training loop, with state saved in each checkpoint.

Example:
    >>> class PrintStep(Callback):
    ...     def on_step_end(self, trainer, step, logs):
    ...         if step % 100 == 0: print(step, float(logs["d_loss"]))
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ganedge.errors import ConfigError, InputError
from ganedge.io.datasets import ImageDataset, check_spec
from ganedge.io.files import atomic_path, make_folder
from ganedge.io.imaging import to_uint8_nhwc
from trainer.health import plot_curves
from trainer.registry import Registry

if TYPE_CHECKING:
    from ganedge.evaluation import EvalConfig, EvalResult, Evaluator
    from trainer.config import TrainConfig
    from trainer.loop import Trainer


class Callback:
    """Base class: every hook does nothing. Hooks run on every process; ``trainer.is_main`` tells
    rank 0, the only one that should write files. Report metrics with ``trainer.report``."""

    def on_train_start(self, trainer: Trainer) -> None:
        """Before the first step (after a resume, the restored state is in place)."""

    def on_step_end(self, trainer: Trainer, step: int, logs: dict[str, torch.Tensor]) -> None:
        """After generator update ``step``; ``logs`` holds this step's losses, D outputs and
        gradient norms as 0-dim tensors on the training device. Reading one (``float(x)``)
        waits for the device, so read them only when needed (the trainer itself reads them once
        per sync point, see :mod:`trainer.loop`); a step may later be rolled back."""

    def on_checkpoint(self, trainer: Trainer, step: int, path: Path) -> None:
        """After ``path`` (last.pt) was written at ``step``."""

    def on_train_end(self, trainer: Trainer) -> None:
        """After the last step and the final checkpoint."""

    def state_dict(self) -> dict[str, Any]:
        """Plain data to store in checkpoints; restored by :meth:`load_state_dict` on resume."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""


# "export" (ONNX every K steps) is registered by the exports package through this entry-point
# group, so the trainer never imports the exporter
CALLBACKS: Registry[type[Callback]] = Registry("callback", "ganedge.callbacks")


EVAL_FILE = "eval.jsonl"  # one record per evaluation, rewritten whole (atomically) each time
EVAL_PLOT = "eval.png"  # FD, KID, precision/recall, density/coverage over steps, at the end
EVAL_BATCH = 256  # generated images per forward pass while evaluating
# evaluator figure → (name reported to the trainer and written to eval.jsonl, improving best_mode)
EVAL_METRICS: dict[str, tuple[str, str]] = {
    "FD": ("fd", "min"), "KID": ("kid", "min"), "precision": ("precision", "max"),
    "recall": ("recall", "max"), "density": ("density", "max"), "coverage": ("coverage", "max"),
    "modes covered": ("modes", "max"), "KL(gen||real)": ("kl", "min"),
    "label accuracy": ("label_accuracy", "max"), "mean confidence": ("confidence", "max"),
    "modes (of 1000)": ("modes_of_1000", "max"), "KL(modes||uniform)": ("kl_uniform", "min"),
    "FD (inception)": ("fid", "min"),
    "KID (inception)": ("kid_inception", "min"),
}
EVAL_PANELS = (("FD", ("fd", "floor fd")), ("KID", ("kid", "floor kid")),
               ("precision / recall", ("precision", "recall")),
               ("density / coverage", ("density", "coverage")))


@CALLBACKS.register("eval")
class EvalCallback(Callback):
    """Score the sampling generator every ``every`` steps with :mod:`ganedge.evaluation`.

    The evaluator is built once, at the start, on rank 0 (the only process that evaluates; the
    others skip). Each evaluation scores ``n`` images (default: the evaluator's held-out size)
    from latents seeded by ``seed`` (conditional: classes in turn) against ``data`` (default: the
    run's dataset), reports every figure under its EVAL_METRICS name (``fd``, ``kid``,
    ``precision``, …: ``best_metric="fd"`` picks best.pt), and rewrites ``eval.jsonl`` with one
    record per evaluation; ``eval.png`` plots them at the end. The records are the callback's
    state, so a resumed run continues them.

    Example:
        >>> cfg = preset("digits-dcgan", steps=300, checkpoint_every=100, best_metric="fd")
        >>> train(cfg, "runs/x", callbacks=(EvalCallback(every=100),))   # doctest: +SKIP
    """

    def __init__(self, every: int = 1000, data: str | Path | ImageDataset | None = None,
                 n: int | None = None, config: EvalConfig | None = None, seed: int = 0) -> None:
        if every < 1:
            raise ConfigError(f"must be at least 1 (got {every})", param="every")
        if n is not None and n < 1:
            raise ConfigError(f"must be at least 1 (got {n})", param="n")
        if isinstance(data, (str, Path)):
            check_spec(data)  # a typo fails now, not after the run has started
        self.every, self.data, self.n, self.config, self.seed = every, data, n, config, seed
        self.history: list[dict[str, Any]] = []
        self.evaluator: Evaluator | None = None

    def check(self, cfg: TrainConfig) -> None:
        """Raise ConfigError when best.pt could be chosen from stale figures: with one of our
        metrics as ``best_metric``, every evaluation step must also be a checkpoint step."""
        if cfg.best_metric not in eval_metric_names():
            return
        if not cfg.checkpoint_every or self.every % cfg.checkpoint_every:
            raise ConfigError(
                f"{self.every} is not a multiple of `checkpoint_every` "
                f"{cfg.checkpoint_every}: best.pt is chosen by {cfg.best_metric} at checkpoints, "
                "so evaluate on checkpoint steps", param="every")

    def on_train_start(self, trainer: Trainer) -> None:
        self.check(trainer.cfg)
        # a resume from an earlier checkpoint, or a crash after an evaluation: redo those steps
        self.history = [r for r in self.history if r["step"] <= trainer.step]
        if trainer.is_main:
            self.evaluator = self._build(trainer)
            k = self.evaluator.config.knn_k
            if self.n is not None and self.n <= k:
                raise ConfigError(f"must be more than the k-NN k={k} (got {self.n})",
                                  param="n")
            self._write(trainer.out)

    def on_step_end(self, trainer: Trainer, step: int, logs: dict[str, torch.Tensor]) -> None:
        if not trainer.is_main or step % self.every:
            return
        record = self._record(step, self.evaluate(trainer))
        for name in _figure_names(record):
            trainer.report(name, record[name])
        self.history.append(record)
        self._write(trainer.out)

    def on_train_end(self, trainer: Trainer) -> None:
        if trainer.is_main and self.history:
            curves = [{"step": r["step"], **{k: r[k] for k in _figure_names(r)},
                       **{f"floor {k}": v for k, v in r["floor"].items()}} for r in self.history]
            plot_curves(curves, trainer.out / EVAL_PLOT, panels=EVAL_PANELS)

    def evaluate(self, trainer: Trainer) -> EvalResult:
        """Score ``n`` images of the trainer's sampling generator now (rank 0, after start)."""
        if self.evaluator is None:
            raise RuntimeError("EvalCallback.evaluate: the evaluator is built in on_train_start")
        classes = trainer.arch_config.num_classes
        images, labels = self._generate(trainer, self.n or self.evaluator.n_heldout)
        # label accuracy needs the eval data to carry the classes the generator was asked for
        same_classes = self.evaluator.labeled and self.evaluator.dataset.num_classes == classes
        protocol = {"generator": "ema" if trainer.ema is not None else "raw",
                    "latents": f"N(0, I) from torch seed {self.seed}"
                               + (f", labels cycling over {classes} classes" if classes else "")}
        return self.evaluator.evaluate(images, labels if same_classes else None,
                                       extra_protocol=protocol)

    def best(self, metric: str = "fd", mode: str = "min") -> dict[str, Any] | None:
        """The record with the best ``metric`` ("min" or "max"; the earliest of ties), or None."""
        scored = [r for r in self.history if metric in r]
        if not scored:
            return None
        sign = 1 if mode == "min" else -1
        return min(scored, key=lambda r: sign * r[metric])

    def state_dict(self) -> dict[str, Any]:
        return {"history": [dict(r) for r in self.history]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.history = [dict(r) for r in state.get("history", [])]

    def _build(self, trainer: Trainer) -> Evaluator:
        from ganedge.evaluation import Evaluator

        arch = trainer.arch_config
        data = trainer.cfg.dataset if self.data is None else self.data
        try:
            return Evaluator(data, arch.image_size, arch.channels, self.config)
        except InputError as exc:
            # the run's own data is the config's dataset; data given here is this callback's
            raise exc.for_param("dataset" if self.data is None else "data") from None

    @torch.no_grad()
    def _generate(self, trainer: Trainer, n: int) -> tuple[np.ndarray, np.ndarray | None]:
        """(n, S, S, C) uint8 images from the sampling generator in eval mode, and their labels."""
        g, device = trainer.sample_generator(), trainer.env.device
        classes = trainer.arch_config.num_classes
        z = torch.randn(n, trainer.arch_config.latent_dim,
                        generator=torch.Generator().manual_seed(self.seed))
        labels = torch.arange(n) % classes if classes else None
        mode, chunks = g.training, []
        g.eval()
        try:
            for i in range(0, n, EVAL_BATCH):
                zb = z[i:i + EVAL_BATCH].to(device)
                out = g(zb) if labels is None else g(zb, labels[i:i + EVAL_BATCH].to(device))
                chunks.append(to_uint8_nhwc(out.float().cpu().numpy()))  # (B, S, S, C)
        finally:
            g.train(mode)
        return np.concatenate(chunks), None if labels is None else labels.numpy()

    def _record(self, step: int, result: EvalResult) -> dict[str, Any]:
        """One eval.jsonl line: step, figures, floor, protocol hash (and the protocol itself
        whenever it differs from the previous record's)."""
        # plain JSON types only: the record is also checkpoint state (loaded with weights_only)
        protocol = json.loads(json.dumps(result.protocol, default=str))
        digest = _protocol_hash(protocol)
        record: dict[str, Any] = {"step": step, "n": protocol["n_fake"]}
        record.update({metric_name(f.name): f.value for f in result.figures})
        record["floor"] = {metric_name(f.name): f.floor for f in result.figures}
        record["missing_modes"] = list(result.missing_modes)
        record["protocol_hash"] = digest
        if not self.history or self.history[-1]["protocol_hash"] != digest:
            record["protocol"] = protocol
        return record

    def _write(self, out: Path) -> None:
        make_folder(out)
        with atomic_path(out / EVAL_FILE, "eval.jsonl") as tmp:
            tmp.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in self.history))


def metric_name(figure: str) -> str:
    """The lower-case name a figure is reported under: "FD" → "fd", "modes covered" → "modes".
    """
    if figure in EVAL_METRICS:
        return EVAL_METRICS[figure][0]
    return re.sub(r"\W+", "_", figure.lower()).strip("_")


def eval_metric_names() -> dict[str, str]:
    """Every name EvalCallback may report → the best_mode ("min"/"max") that improves it."""
    return dict(EVAL_METRICS.values())


def _figure_names(record: dict[str, Any]) -> list[str]:
    """The figure names of one eval.jsonl record, in evaluator order."""
    return list(record["floor"])


def _protocol_hash(protocol: dict[str, Any]) -> str:
    """16 hex digits of sha256 over the protocol, leaving out whether the feature network came
    from the cache (a resume finds it cached: the same protocol)."""
    stable = json.loads(json.dumps(protocol))
    stable.get("feature_network", {}).pop("cached", None)
    return hashlib.sha256(json.dumps(stable, sort_keys=True).encode()).hexdigest()[:16]
