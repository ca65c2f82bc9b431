"""Training health: a JSONL log, sample diversity and collapse warnings, NaN detection, plots."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw

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
COLORS = ((31, 119, 180), (255, 127, 14))


def plot_curves(records: list[dict[str, Any]], path: Path, size: tuple[int, int] = (420, 220),
                panels: tuple[tuple[str, tuple[str, ...]], ...] = PANELS) -> None:
    """Curves of ``records`` over their "step" as one PNG, drawn with PIL: one panel per
    (title, keys) of ``panels``, two per row, at most two keys each (the default: losses, D
    outputs, grad norms, diversity)."""
    w, h = size
    canvas = Image.new("RGB", (w * 2, h * ((len(panels) + 1) // 2)), "white")
    for i, (title, keys) in enumerate(panels):
        panel = _panel(records, title, keys, size)
        canvas.paste(panel, ((i % 2) * w, (i // 2) * h))
    with os_errors(path):
        canvas.save(path)


def _panel(records: list[dict[str, Any]], title: str, keys: tuple[str, ...],
           size: tuple[int, int]) -> Image.Image:
    w, h = size
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    left, top, right, bottom = 50, 20, w - 10, h - 25
    draw.rectangle((left, top, right, bottom), outline=(160, 160, 160))
    steps = np.array([r["step"] for r in records], dtype=float)
    series = [np.array([r.get(k, np.nan) for r in records], dtype=float) for k in keys]
    finite = np.concatenate([s[np.isfinite(s)] for s in series]) if records else np.array([])
    lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    hi = hi if hi > lo else lo + 1.0
    x0, x1 = (steps.min(), steps.max()) if steps.size else (0.0, 1.0)
    x1 = x1 if x1 > x0 else x0 + 1.0
    for color, key, ys in zip(COLORS, keys, series):
        pts = [(left + (s - x0) / (x1 - x0) * (right - left), bottom - (y - lo) / (hi - lo) * (bottom - top))
               for s, y in zip(steps, ys) if np.isfinite(y)]
        if len(pts) > 1:
            draw.line(pts, fill=color, width=2)
        elif pts:  # one record (e.g. a single evaluation): a dot instead of a line
            (x, y), = pts
            draw.ellipse((x - 3, y - 3, x + 3, y + 3), fill=color)
        draw.text((left + 5 + 110 * keys.index(key), 4), key, fill=color)
    draw.text((w - 120, 4), title, fill=(0, 0, 0))
    draw.text((2, top), f"{hi:.3g}", fill=(0, 0, 0))
    draw.text((2, bottom - 10), f"{lo:.3g}", fill=(0, 0, 0))
    draw.text((left, bottom + 5), f"step {x0:.0f}", fill=(0, 0, 0))
    draw.text((right - 70, bottom + 5), f"step {x1:.0f}", fill=(0, 0, 0))
    return img
