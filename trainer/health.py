"""Training health: a JSONL log, sample diversity and collapse warnings, NaN detection, plots."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganedge.errors import GanEdgeError
from ganedge.io.files import os_errors


class DivergenceError(GanEdgeError):
    """Training produced NaN/Inf more often than ``max_rollbacks`` allows."""


class CollapseWarning(UserWarning):
    """The fixed-latent samples have become much less diverse than the data."""


def diversity(images: torch.Tensor) -> float:
    """Mean pairwise RMS pixel distance of (N, C, H, W) images in [-1, 1]; 0 means all identical."""
    flat = images.detach().float().flatten(1)
    dist = torch.cdist(flat, flat) / math.sqrt(flat.shape[1])
    n = flat.shape[0]
    return float(dist.sum() / (n * (n - 1)))


class Interval:
    """A step's figures (0-dim tensors) summed on the device between two reads, so no step waits
    for the host. Each figure is averaged over its finite values (a step the fp16 loss scaler
    skipped has an infinite gradient norm); ``first_bad`` holds the first step whose loss (one of
    ``loss_keys``) was not finite, 0 when none was."""

    def __init__(self, device: torch.device, loss_keys: tuple[str, ...]) -> None:
        self.device, self.loss_keys = device, loss_keys
        self.reset()

    def reset(self) -> None:
        """Start a new interval."""
        self.keys: tuple[str, ...] = ()
        self.steps = 0
        self.sums = self.counts = torch.zeros(0, device=self.device)
        self.first_bad = torch.zeros((), dtype=torch.long, device=self.device)

    def add(self, step: int, logs: dict[str, torch.Tensor]) -> None:
        """Add step ``step``'s figures (the same names every step)."""
        if not self.keys:
            self.keys = tuple(logs)
            self.sums = self.counts = torch.zeros(len(self.keys), device=self.device)
            # a device tensor made once: indexing with a list would copy it there every step
            self._loss_index = torch.tensor([self.keys.index(k) for k in self.loss_keys],
                                            device=self.device)
        values = torch.stack([logs[k].detach().float() for k in self.keys])
        finite = torch.isfinite(values)
        self.sums = self.sums + torch.where(finite, values, 0.0)
        self.counts = self.counts + finite
        bad = ~finite[self._loss_index].all()
        self.first_bad = torch.where(bad & (self.first_bad == 0), step, self.first_bad)
        self.steps += 1

    def packed(self) -> torch.Tensor:
        """Sums, counts and first_bad in one float tensor, for one read; see :meth:`unpack`."""
        return torch.cat([self.sums, self.counts, self.first_bad.float()[None]])

    def unpack(self, values: list[float]) -> tuple[dict[str, float], int]:
        """The host's copy of :meth:`packed` as (means by name, first bad step or 0)."""
        n = len(self.keys)
        means = {k: (s / c if c else math.nan)
                 for k, s, c in zip(self.keys, values[:n], values[n:2 * n])}
        return means, int(values[2 * n])


class SkipRun:
    """Optimizer steps of one network that the fp16 loss scaler skipped, counted on the device:
    how many since the last read, and the longest run of consecutive ones (a run carries on
    across reads)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.reset()

    def reset(self) -> None:
        """No skips, no run (a fresh start or a rollback)."""
        zero = torch.zeros((), dtype=torch.long, device=self.device)
        self.new, self.run, self.longest = zero, zero, zero

    def add(self, skipped: torch.Tensor) -> None:
        """One optimizer step; ``skipped`` is a 0-dim bool tensor."""
        s = skipped.long()
        self.new = self.new + s
        self.run = (self.run + 1) * s
        self.longest = torch.maximum(self.longest, self.run)

    def packed(self) -> torch.Tensor:
        """(new, longest) as floats for one read; the counts then restart from the current run."""
        out = torch.stack([self.new, self.longest]).float()
        self.new, self.longest = torch.zeros_like(self.new), self.run
        return out


def append_jsonl(path: Path, record: dict[str, Any]) -> None:
    """Append one record as a JSON line (the log survives a crash up to its last line)."""
    with os_errors(path), open(path, "a") as fh:
        fh.write(json.dumps(record, sort_keys=True) + "\n")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """All records of a JSONL log ([] when it does not exist)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def truncate_jsonl(path: Path, last_step: int) -> None:
    """Drop records after ``last_step``, so a resumed run's log has no duplicate steps."""
    kept = [r for r in read_jsonl(path) if r["step"] <= last_step]
    with os_errors(path):
        path.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in kept))


PANELS = (("losses", ("d_loss", "g_loss")), ("D outputs", ("d_real", "d_fake")),
          ("grad norms", ("grad_norm_d", "grad_norm_g")), ("diversity", ("diversity",)))
PANEL_SIZE = (5.0, 3.0)  # inches of one panel; 100 dpi


def plot_curves(records: list[dict[str, Any]], path: Path,
                panels: tuple[tuple[str, tuple[str, ...]], ...] = PANELS) -> None:
    """Curves of ``records`` over their "step" as one PNG drawn with matplotlib: one panel per
    (title, keys) of ``panels``, two per row, with labelled axes, ticks and a legend (the
    default: losses, D outputs, grad norms, diversity). A key starting with "floor" is dashed.

    Draws on its own Figure (no pyplot, no rcParams), so the host process is left as it was.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = (len(panels) + 1) // 2
    fig = Figure(figsize=(PANEL_SIZE[0] * 2, PANEL_SIZE[1] * rows), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, 2, squeeze=False).ravel()
    steps = np.array([r["step"] for r in records], dtype=float)
    for ax, (title, keys) in zip(axes, panels):
        _panel(ax, steps, records, title, keys)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    with os_errors(path):
        fig.savefig(path)


def _panel(ax: Any, steps: np.ndarray, records: list[dict[str, Any]], title: str,
           keys: tuple[str, ...]) -> None:
    for key in keys:
        ys = np.array([r.get(key, np.nan) for r in records], dtype=float)
        ok = np.isfinite(ys)
        # one record (e.g. a single evaluation) shows as a dot
        ax.plot(steps[ok], ys[ok], label=key, marker="o" if ok.sum() == 1 else None,
                linestyle="--" if key.startswith("floor") else "-")
    ax.set_title(title)
    ax.set_xlabel("step")
    ax.set_ylabel(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize="small")
