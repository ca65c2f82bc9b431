"""Metric loggers for ganedge's own trainer, chosen by ``TrainConfig.logger`` (``--logger``).

A logger is a callback with three more hooks: :meth:`RunLogger.on_health` (each health record:
losses, D(real)/D(fake), gradient norms, diversity, learning rates), :meth:`RunLogger.on_metric`
(each figure a callback reports, e.g. the eval callback's fd/kid) and :meth:`RunLogger.on_samples`
(each fixed-latent grid). health.jsonl and the sample PNGs are the run's own record and are
written whatever the logger; a logger mirrors them into a tool people watch.

Example:
    >>> train(preset("digits-dcgan", logger="tensorboard"), "runs/x")   # doctest: +SKIP
    $ tensorboard --logdir runs/x/tensorboard
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ganedge.errors import MissingExtraError
from ganedge.io.files import os_errors
from trainer.callbacks import Callback
from trainer.registry import Registry

if TYPE_CHECKING:
    from trainer.loop import Trainer

TENSORBOARD_DIR = "tensorboard"  # under the run folder
CSV_FILE = "metrics.csv"  # under the run folder: step,name,value rows
TENSORBOARD_EXTRA = "pip install 'ganedge[tensorboard]'"


class RunLogger(Callback):
    """Base logger: every hook does nothing. Loggers run on rank 0 only."""

    def on_health(self, trainer: Trainer, step: int, record: dict[str, Any]) -> None:
        """A health record was appended to health.jsonl (numbers and, maybe, a warning)."""

    def on_metric(self, trainer: Trainer, step: int, name: str, value: float) -> None:
        """A callback reported ``name`` = ``value`` through ``trainer.report``."""

    def on_samples(self, trainer: Trainer, step: int, grid: np.ndarray) -> None:
        """The fixed-latent grid, uint8 (H, W, C), was written to samples/."""


LOGGERS: Registry[type[RunLogger]] = Registry("logger", "ganedge.loggers")


def _scalars(record: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in record.items()
            if k != "step" and isinstance(v, (int, float)) and not isinstance(v, bool)}


@LOGGERS.register("none")
class NoLogger(RunLogger):
    """Mirror nothing: health.jsonl, samples/ and curves.png only."""


@LOGGERS.register("csv")
class CsvLogger(RunLogger):
    """``metrics.csv`` in the run folder: one ``step,name,value`` row per figure, so metrics that
    appear later (an evaluation) need no new column; a resume drops rows past its step."""

    def on_train_start(self, trainer: Trainer) -> None:
        self.path = trainer.out / CSV_FILE
        rows = self._rows_up_to(trainer.step)
        with os_errors(self.path), open(self.path, "w", newline="") as fh:
            csv.writer(fh).writerows([("step", "name", "value"), *rows])

    def on_health(self, trainer: Trainer, step: int, record: dict[str, Any]) -> None:
        self._append(step, _scalars(record))

    def on_metric(self, trainer: Trainer, step: int, name: str, value: float) -> None:
        self._append(step, {f"metrics/{name}": value})

    def _append(self, step: int, values: dict[str, float]) -> None:
        with os_errors(self.path), open(self.path, "a", newline="") as fh:
            csv.writer(fh).writerows((step, name, repr(value)) for name, value in values.items())

    def _rows_up_to(self, step: int) -> list[list[str]]:
        if not self.path.is_file():
            return []
        with os_errors(self.path, "read"), open(self.path, newline="") as fh:
            rows = list(csv.reader(fh))[1:]
        return [row for row in rows if len(row) == 3 and row[0].isdigit() and int(row[0]) <= step]


@LOGGERS.register("tensorboard")
class TensorBoardLogger(RunLogger):
    """TensorBoard event files in ``<run>/tensorboard``: health figures as scalars, reported
    metrics under ``metrics/``, each fixed-latent grid as an image, the resolved config as text."""

    def on_train_start(self, trainer: Trainer) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise MissingExtraError(f"logger 'tensorboard' needs the tensorboard package: "
                                    f"{TENSORBOARD_EXTRA}") from None
        # purge_step: a resumed run hides the events a crashed run wrote past its checkpoint
        self.writer = SummaryWriter(str(trainer.out / TENSORBOARD_DIR),
                                    purge_step=trainer.step + 1 if trainer.step else None)
        config = json.dumps(trainer.cfg.to_dict(), indent=2)
        self.writer.add_text("config", f"```\n{config}\n```", trainer.step)

    def on_health(self, trainer: Trainer, step: int, record: dict[str, Any]) -> None:
        for name, value in _scalars(record).items():
            self.writer.add_scalar(f"health/{name}", value, step)

    def on_metric(self, trainer: Trainer, step: int, name: str, value: float) -> None:
        self.writer.add_scalar(f"metrics/{name}", value, step)

    def on_samples(self, trainer: Trainer, step: int, grid: np.ndarray) -> None:
        self.writer.add_image("samples", grid, step, dataformats="HWC")

    def on_checkpoint(self, trainer: Trainer, step: int, path: Path) -> None:
        # what a checkpoint keeps, the event file keeps too, should the run die before the end
        self.writer.flush()

    def on_train_end(self, trainer: Trainer) -> None:
        self.writer.close()


def build_logger(name: str) -> RunLogger:
    """The registered logger ``name``, constructed; ConfigError lists the names on a miss."""
    return LOGGERS.get(name)()
