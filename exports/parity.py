"""Parity: does the ONNX graph compute what the PyTorch module computes, on the runtime's latents?

fp32 graphs are held to 1e-4 max abs on the [-1, 1] scale. Graphs that round by design (the uint8
tail, fp16, int8) are measured in 8-bit pixel levels (1 level = 2/255 on that scale), the unit a
viewer of the image cares about, each against its own stated tolerance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from ganedge.contract import OUTPUT_RANGES, ModelContract
from ganedge.errors import ParityError
from ganedge.io.imaging import to_uint8_nhwc
from ganedge.runtime.runner import parity_runner
from ganedge.sampling.latents import latents_for_seeds

PARITY_BATCHES = (1, 3, 64)
ABS, LEVELS = "abs", "levels"
LEVELS_PER_UNIT = 127.5  # 8-bit levels per unit of the [-1, 1] scale


@dataclass(frozen=True)
class Tolerance:
    """How far an export may be from PyTorch: a max and optionally a mean error, in ``unit``."""

    max: float
    mean: float | None = None
    unit: str = ABS  # "abs" on the [-1, 1] scale, or "levels" of 8-bit pixels

    def describe(self) -> str:
        """E.g. "max 1e-04 abs" or "max 24, mean 1.5 levels"."""
        mean = f", mean {self.mean:g}" if self.mean is not None else ""
        return f"max {self.max:g}{mean} {self.unit}"


FP32_TOLERANCE = Tolerance(1e-4)
# A pixel whose exact value sits on a .5 boundary may round either way: one level, never more.
UINT8_TOLERANCE = Tolerance(1.0, unit=LEVELS)


@dataclass(frozen=True)
class BatchParity:
    """How ONNX Runtime's output compares with PyTorch's at one batch size (errors in the unit)."""

    batch: int
    max_err: float
    mean_err: float
    shape_ok: bool
    finite: bool


@dataclass(frozen=True)
class ParityReport:
    """Parity at every checked batch size, against one tolerance."""

    tolerance: Tolerance
    batches: tuple[BatchParity, ...]

    @property
    def ok(self) -> bool:
        """Whether every batch has the right shape, finite values and errors within tolerance."""
        return all(self._problem(b) is None for b in self.batches)

    @property
    def max_err(self) -> float:
        """The worst error over all batches."""
        return max(b.max_err for b in self.batches)

    @property
    def mean_err(self) -> float:
        """The worst batch's mean error."""
        return max(b.mean_err for b in self.batches)

    def summary(self) -> str:
        """One line: worst max and mean error, unit and batch sizes."""
        batches = "/".join(str(b.batch) for b in self.batches)
        return (f"max {self.max_err:.3g}, mean {self.mean_err:.3g} {self.tolerance.unit} at batch "
                f"{batches} (tolerance {self.tolerance.describe()})")

    def to_dict(self) -> dict[str, object]:
        """Plain data for the ONNX metadata."""
        return {"tolerance": asdict(self.tolerance), "ok": self.ok,
                "batches": [asdict(b) for b in self.batches]}

    def raise_if_failed(self, output_name: str, what: str = "parity") -> None:
        """Raise ParityError naming the first failing batch and by how much it is off."""
        for b in self.batches:
            problem = self._problem(b)
            if problem is not None:
                raise ParityError(f"{what}: output {output_name!r} at batch {b.batch} {problem}; "
                                  "pass `allow_mismatch` to write it anyway")

    def _problem(self, b: BatchParity) -> str | None:
        tol = self.tolerance
        if not b.shape_ok:
            return "has the wrong shape"
        if not b.finite:
            return "has NaN/Inf values"
        if b.max_err > tol.max:
            return (f"differs from PyTorch by {b.max_err:.3g} max {tol.unit} "
                    f"(tolerance {tol.max:g})")
        if tol.mean is not None and b.mean_err > tol.mean:
            return (f"differs from PyTorch by {b.mean_err:.3g} mean {tol.unit} "
                    f"(tolerance {tol.mean:g})")
        return None


def example_inputs(batch: int, latent_dim: int, num_classes: int,
                   first_seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Seeded latents (B, latent_dim) float32, plus labels (B,) int64 cycling through the
    classes."""
    z = torch.from_numpy(latents_for_seeds(range(first_seed, first_seed + batch), latent_dim))
    if num_classes == 0:
        return (z,)
    return z, torch.arange(batch, dtype=torch.int64) % num_classes


def check_parity(module: nn.Module, onnx_bytes: bytes, contract: ModelContract,
                 tolerance: Tolerance = FP32_TOLERANCE,
                 batches: Sequence[int] = PARITY_BATCHES) -> ParityReport:
    """Run PyTorch and the ganedge runner (ONNX Runtime's CPU provider) on the same seeded inputs
    and compare outputs.

    A uint8 (B, H, W, C) output is compared with PyTorch's output rounded the runtime's way.
    """
    runner = parity_runner(onnx_bytes, contract)
    results = []
    for batch in batches:
        inputs = example_inputs(batch, contract.latent_dim, contract.num_classes)
        with torch.no_grad():
            expected = module(*inputs).numpy()
        got = runner.generate(*(t.numpy() for t in inputs[:1]),
                              inputs[1].numpy() if len(inputs) > 1 else None)
        results.append(_compare(batch, expected, got, tolerance.unit, contract.output_range))
    return ParityReport(tolerance, tuple(results))


def _compare(batch: int, expected: np.ndarray, got: np.ndarray, unit: str,
             output_range: str = "-1,1") -> BatchParity:
    low, high = OUTPUT_RANGES[output_range]
    if got.dtype == np.uint8:
        expected, scale = to_uint8_nhwc(expected, (low, high)), 1.0
    else:
        # 8-bit levels per unit of the model's own scale (127.5 for [-1, 1], 255 for [0, 1])
        scale = LEVELS_PER_UNIT * 2.0 / (high - low) if unit == LEVELS else 1.0
    shape_ok = expected.shape == got.shape
    finite = bool(np.isfinite(got).all())
    if not shape_ok:
        return BatchParity(batch, float("inf"), float("inf"), False, finite)
    diff = np.abs(expected.astype(np.float64) - got.astype(np.float64)) * scale
    return BatchParity(batch, float(diff.max()), float(diff.mean()), shape_ok, finite)
