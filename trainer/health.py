"""Training health: a JSONL log, sample diversity and collapse warnings, NaN detection, plots."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganedge.errors import GanEdgeError
from ganedge.files import os_errors


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


def all_finite(*values: float) -> bool:
    """True when no value is NaN or ±Inf."""
    return all(math.isfinite(v) for v in values)


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
