"""StyleGAN models in the runtime: W-space truncation, idle feeds, style mixing, ranges.

An exported StyleGAN file holds the mapping (z → ws) and the synthesis (ws → images) as two
independent subgraphs (see :class:`ganedge.contract.ModelContract`). ONNX Runtime runs every node of
a graph whatever outputs are asked for, so the half not wanted is fed an empty batch; the runner
(ganedge.runtime.runner) may give each half a session of its own, whose idle input then always has
the same empty shape.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ganedge.contract import ModelContract
from ganedge.errors import InputError


def idle_feeds(contract: ModelContract, half: str) -> dict[str, np.ndarray]:
    """Empty (0, …) feeds that idle the half not run: for ``half`` "mapping" the synthesis
    input, for "synthesis" the mapping inputs."""
    if half == "mapping":
        return {contract.ws_input_name: np.zeros((0, contract.num_ws, contract.w_dim),
                                                 np.float32)}
    feeds = {contract.input_name: np.zeros((0, contract.latent_dim), np.float32)}
    if contract.conditional:
        feeds[contract.label_input_name] = np.zeros(0, np.int64)
    return feeds


def truncate_ws(ws: np.ndarray, w_avg: np.ndarray, psi: float,
                cutoff: int | None = None) -> np.ndarray:
    """ws (B, num_ws, w_dim) pulled toward w_avg: w_avg + ψ·(w − w_avg) on the first ``cutoff``
    ws (all when None), float32. ψ = 1 returns ``ws`` unchanged; ψ = 0 gives w_avg. ψ and the
    cutoff are checked where they enter (``GeneratorModel.mapping``)."""
    if psi == 1.0:
        return ws
    n = ws.shape[1] if cutoff is None else cutoff
    out = ws.copy()
    avg = w_avg.astype(np.float32)
    out[:, :n] = avg + np.float32(psi) * (ws[:, :n] - avg)
    return out


def check_ws(ws: np.ndarray, contract: ModelContract) -> np.ndarray:
    """ws as contiguous float32 (B, num_ws, w_dim), or InputError naming the expected shape."""
    ws = np.ascontiguousarray(ws, dtype=np.float32)
    if ws.ndim != 3 or ws.shape[1:] != (contract.num_ws, contract.w_dim):
        raise InputError(f"expected shape (B, {contract.num_ws}, {contract.w_dim}) "
                         f"(got {tuple(ws.shape)})", param="ws")
    if not np.isfinite(ws).all():
        raise InputError("holds NaN/Inf values", param="ws")
    return ws


def parse_styles(spec: str, num_ws: int) -> list[int]:
    """"0-6" or "0,2,4-5" → sorted unique w indices, each in [0, num_ws)."""
    styles: set[int] = set()
    for part in spec.split(","):
        lo, _, hi = part.strip().partition("-")
        try:
            first, last = int(lo), int(hi or lo)
        except ValueError:
            raise InputError(f"expected indices like 0-6 or 0,2,4 (got {spec!r})",
                             param="styles") from None
        if not 0 <= first <= last < num_ws:
            raise InputError(f"indices must lie in [0, {num_ws - 1}] in increasing ranges "
                             f"(got {part.strip()!r})", param="styles")
        styles.update(range(first, last + 1))
    return sorted(styles)


def mixed_ws(row_ws: np.ndarray, col_ws: np.ndarray, styles: Sequence[int]) -> np.ndarray:
    """(R·C, num_ws, w_dim): for each row r and column c, row r's ws with the ``styles``
    indices taken from column c (NVlabs' style-mixing figure), row-major."""
    rows, cols = len(row_ws), len(col_ws)
    out = np.repeat(row_ws[:, None], cols, axis=1)  # (R, C, num_ws, w_dim)
    out[:, :, list(styles)] = col_ws[None, :, list(styles)]
    return out.reshape(rows * cols, *row_ws.shape[1:])


def mixing_grid(row_images: np.ndarray, col_images: np.ndarray,
                mixed: np.ndarray) -> np.ndarray:
    """uint8 (H·(R+1), W·(C+1), ch): column sources along the top, row sources down the left,
    the mixes (R·C, H, W, ch) row-major inside, a black corner."""
    rows, cols = len(row_images), len(col_images)
    h, w, ch = row_images.shape[1:]
    canvas = np.zeros((h * (rows + 1), w * (cols + 1), ch), np.uint8)
    for c in range(cols):
        canvas[:h, w * (c + 1):w * (c + 2)] = col_images[c]
    for r in range(rows):
        canvas[h * (r + 1):h * (r + 2), :w] = row_images[r]
        for c in range(cols):
            canvas[h * (r + 1):h * (r + 2), w * (c + 1):w * (c + 2)] = mixed[r * cols + c]
    return canvas
