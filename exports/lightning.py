"""A PyTorch Lightning callback that exports the module's generator to ONNX as it trains.

``OnnxExport`` goes through :func:`exports.export_generator`, the same path as ``ganedge export``
(parity check against PyTorch, contract, provenance), then samples a grid from the written file
with the ganedge runtime, so what the Trainer's logger shows is what the ONNX file produces.

It subclasses the Callback of every Lightning installed (``lightning.pytorch`` and the older
``pytorch_lightning``), so a Trainer of either accepts it.

Example:
    >>> from exports.lightning import OnnxExport
    >>> trainer = L.Trainer(  # doctest: +SKIP
    ...     callbacks=[OnnxExport("exports/", generator="ema.module")])
"""

from __future__ import annotations

import functools
import importlib
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from exports.onnx import ExportResult, export_generator
from exports.quantize import PRECISIONS
from ganedge.errors import ConfigError, MissingExtraError
from ganedge.io.files import make_folder
from ganedge.io.imaging import make_grid, save_png

LIGHTNING_EXTRA = "pip install 'ganedge[lightning]'"
FRAMEWORKS = ("lightning.pytorch", "pytorch_lightning")  # both names Lightning has shipped under
LATENT_ATTRIBUTES = ("latent_dim", "z_dim", "nz", "nz_dim", "noise_dim")
GRID_SEEDS = 64  # seeds 0..63 drawn into the logged grid
MODEL_NAME = "model.onnx"


def _callback_bases() -> tuple[type, ...]:
    bases = []
    for name in FRAMEWORKS:
        try:
            bases.append(importlib.import_module(name).Callback)
        except ImportError:
            continue
    if not bases:
        raise MissingExtraError(f"exports.lightning needs PyTorch Lightning (neither "
                                f"{' nor '.join(FRAMEWORKS)} is installed): {LIGHTNING_EXTRA}")
    return tuple(bases)


def _framework_version(trainer: Any) -> dict[str, str]:
    """{"framework": "lightning.pytorch", "lightning": "2.6.6"} for the Trainer in use."""
    package = type(trainer).__module__.split(".")[0]
    module = importlib.import_module(package)
    return {"framework": package, "lightning": str(getattr(module, "__version__", "unknown"))}


class _OnnxExportHooks:
    """The hooks and state of :class:`OnnxExport` (kept apart so the class can subclass every
    installed Lightning's Callback)."""

    def __init__(self, dirpath: str | Path, generator: str = "generator",
                 latent_dim: int | None = None, num_classes: int = 0, every_n_epochs: int = 1,
                 precision: str = "fp32", grade: str | None = None) -> None:
        if every_n_epochs < 0:
            raise ConfigError(f"must be >= 0, 0 for only at the end of fit (got {every_n_epochs})",
                              param="every_n_epochs")
        if latent_dim is not None and latent_dim < 1:
            raise ConfigError(f"must be at least 1 (got {latent_dim})", param="latent_dim")
        if precision not in PRECISIONS:
            raise ConfigError(f"must be one of {list(PRECISIONS)} (got {precision!r})",
                              param="precision")
        if grade is not None and precision == "fp32":
            raise ConfigError("grades a reduced-precision variant against fp32: also pass "
                              "precision='fp16' or 'int8'", param="grade")
        self.dirpath = Path(dirpath)
        self.generator = generator
        self.latent_dim = latent_dim
        self.num_classes = num_classes
        self.every_n_epochs = every_n_epochs
        self.precision = precision
        self.grade = grade
        self.exported_step: int | None = None  # the Trainer's global step at the last export
        self.last_result: ExportResult | None = None

    @property
    def path(self) -> Path:
        """Where the model is (re)written: ``dirpath/model.onnx``."""
        return self.dirpath / MODEL_NAME

    def setup(self, trainer: Any, pl_module: nn.Module, stage: str) -> None:
        """Resolve the generator and its latent size before training, so a wrong name or a latent
        size that cannot be inferred fails at once, not after the first epoch."""
        if stage == "fit":
            self._generator_of(pl_module)
            self._latent_dim_of(pl_module)

    def on_train_epoch_end(self, trainer: Any, pl_module: nn.Module) -> None:
        # current_epoch is still the finished epoch's index here; Lightning counts it done after
        epochs = trainer.current_epoch + 1
        if self.every_n_epochs and epochs % self.every_n_epochs == 0:
            self._export(trainer, pl_module, epochs)

    def on_fit_end(self, trainer: Any, pl_module: nn.Module) -> None:
        self._export(trainer, pl_module, trainer.current_epoch)

    def state_dict(self) -> dict[str, Any]:
        return {"exported_step": self.exported_step}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.exported_step = state.get("exported_step")

    def _export(self, trainer: Any, pl_module: nn.Module, epochs: int) -> None:
        # every rank reaches the hook; rank 0 alone writes, as with checkpoints. The end of fit
        # right after an epoch-end export has nothing new to write.
        if not trainer.is_global_zero or trainer.global_step == self.exported_step:
            return
        make_folder(self.dirpath)
        provenance = {"source": "lightning", "epochs": epochs, "global_step": trainer.global_step,
                      "generator": self.generator, **_framework_version(trainer)}
        result = export_generator(self._generator_of(pl_module), self.path,
                                  self._latent_dim_of(pl_module), self.num_classes,
                                  provenance=provenance, precision=self.precision,
                                  grade_data=self.grade)
        self.exported_step, self.last_result = trainer.global_step, result
        self._log_grid(trainer)

    def _log_grid(self, trainer: Any) -> None:
        """Sample seeds 0..63 from the written file and hand the grid to the Trainer's logger."""
        import ganedge

        gen = ganedge.load(self.path, provider="cpu")
        grid = make_grid(gen.sample(GRID_SEEDS), cols=self.num_classes or None)
        save_png(grid, self.dirpath / f"samples-step{trainer.global_step:06d}.png")
        logger = trainer.logger
        if logger is None:
            return
        experiment = getattr(logger, "experiment", None)
        if hasattr(experiment, "add_image"):  # TensorBoard's SummaryWriter
            experiment.add_image("onnx/samples", grid, trainer.global_step, dataformats="HWC")
        elif hasattr(logger, "log_image"):  # Weights & Biases, Neptune, …
            logger.log_image(key="onnx/samples", images=[np.asarray(grid)],
                             step=trainer.global_step)

    def _generator_of(self, pl_module: nn.Module) -> nn.Module:
        try:
            module = functools.reduce(getattr, self.generator.split("."), pl_module)
        except AttributeError:
            raise ConfigError(f"{type(pl_module).__name__} has no attribute {self.generator!r}: "
                              "name the generator's attribute (a dotted path like 'ema.module')",
                              param="generator") from None
        if not isinstance(module, nn.Module):
            raise ConfigError(f"{self.generator!r} is a {type(module).__name__}, not an "
                              "nn.Module: name the generator module itself", param="generator")
        return module

    def _latent_dim_of(self, pl_module: nn.Module) -> int:
        if self.latent_dim is not None:
            return self.latent_dim
        hparams = getattr(pl_module, "hparams", {}) or {}
        for owner in (self._generator_of(pl_module), pl_module, hparams):
            for name in LATENT_ATTRIBUTES:
                value = owner.get(name) if isinstance(owner, dict) else getattr(owner, name, None)
                if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                    return value
        raise ConfigError(f"cannot infer it: neither the module, its generator nor its hparams "
                          f"has one of {list(LATENT_ATTRIBUTES)}: pass OnnxExport(latent_dim=…)",
                          param="latent_dim")


class OnnxExport(_OnnxExportHooks, *_callback_bases()):  # type: ignore[misc]
    """Export ``pl_module.<generator>`` to ``dirpath/model.onnx`` every ``every_n_epochs`` epochs
    (0: only at the end) and at the end of fit, on rank 0 only.

    ``generator`` is a dotted attribute path (``"generator"``, ``"ema.module"``); ``latent_dim``
    is read from the generator, the module or its hparams (``latent_dim``/``z_dim``/``nz``) when
    not given; ``num_classes`` > 0 exports a label input; ``precision`` and ``grade`` are
    ``ganedge export``'s precision and grading data. Each export samples seeds 0-63 from the
    written file into ``dirpath/samples-stepNNNNNN.png`` and the Trainer's logger, and the
    provenance in the file records the epochs done, the global step and the Lightning version.
    """
