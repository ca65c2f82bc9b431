"""Parity: does the ONNX graph compute what the PyTorch module computes, on the runtime's latents?"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

from ganedge.contract import ModelContract
from ganedge.errors import ParityError
from ganedge.latents import latents_for_seeds

PARITY_BATCHES = (1, 3, 64)
FP32_TOLERANCE = 1e-4  # max abs difference on the [-1, 1] scale


@dataclass(frozen=True)
class BatchParity:
    """How ONNX Runtime's output compares with PyTorch's at one batch size."""

    batch: int
    max_abs: float
    mean_abs: float
    shape_ok: bool
    finite: bool


@dataclass(frozen=True)
class ParityReport:
    """Parity at every checked batch size, against one tolerance."""

    tolerance: float
    batches: tuple[BatchParity, ...]

    @property
    def ok(self) -> bool:
        """Whether every batch has the right shape, finite values and error within tolerance."""
        return all(b.shape_ok and b.finite and b.max_abs <= self.tolerance for b in self.batches)

    def to_dict(self) -> dict[str, object]:
        """Plain data for the ONNX metadata."""
        return {"tolerance": self.tolerance, "ok": self.ok, "batches": [asdict(b) for b in self.batches]}

    def raise_if_failed(self, output_name: str) -> None:
        """Raise ParityError naming the first failing batch and by how much it is off."""
        for b in self.batches:
            if not b.shape_ok:
                raise ParityError(f"parity: output {output_name!r} has the wrong shape at batch {b.batch}")
            if not b.finite:
                raise ParityError(f"parity: output {output_name!r} has NaN/Inf at batch {b.batch}")
            if b.max_abs > self.tolerance:
                raise ParityError(
                    f"parity: output {output_name!r} at batch {b.batch} differs from PyTorch by "
                    f"{b.max_abs:.3g} max abs (tolerance {self.tolerance:g}); "
                    "pass --allow-mismatch to write it anyway"
                )


def example_inputs(batch: int, latent_dim: int, num_classes: int) -> tuple[torch.Tensor, ...]:
    """Seeded latents (B, latent_dim) float32, plus labels (B,) int64 cycling through the classes."""
    z = torch.from_numpy(latents_for_seeds(range(batch), latent_dim))
    if num_classes == 0:
        return (z,)
    return z, torch.arange(batch, dtype=torch.int64) % num_classes


def check_parity(module: nn.Module, onnx_bytes: bytes, contract: ModelContract,
                 batches: Sequence[int] = PARITY_BATCHES,
                 tolerance: float = FP32_TOLERANCE) -> ParityReport:
    """Run PyTorch and ONNX Runtime (CPU) on the same seeded inputs and compare outputs."""
    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    names = [contract.input_name, contract.label_input_name]
    results = []
    for batch in batches:
        inputs = example_inputs(batch, contract.latent_dim, contract.num_classes)
        with torch.no_grad():
            expected = module(*inputs).numpy()
        feed = {name: t.numpy() for name, t in zip(names, inputs)}
        (got,) = session.run([contract.output_name], feed)
        results.append(_compare(batch, expected, got))
    return ParityReport(tolerance, tuple(results))


def _compare(batch: int, expected: np.ndarray, got: np.ndarray) -> BatchParity:
    shape_ok = expected.shape == got.shape
    finite = bool(np.isfinite(got).all())
    diff = np.abs(expected - got) if shape_ok else np.array([np.inf])
    return BatchParity(batch, float(diff.max()), float(diff.mean()), shape_ok, finite)
