"""ONNX → ORT format: the flatbuffer model that mobile and minimal ONNX Runtime builds (and
onnxruntime-web) load without the protobuf parser.

The contract travels inside the file: ORT format keeps the model's ``metadata_props``, so an
``.ort`` model is read by :func:`ganedge.load` exactly like its ``.onnx``. Only the basic,
hardware-independent graph optimizations are baked in (constant folding, redundant-node removal),
so the file runs on any execution provider; conversion is refused unless the ``.ort`` output
matches the ``.onnx`` on the same latents.

Example:
    >>> result = convert_to_ort("model.onnx")        # doctest: +SKIP
    >>> result.path.name, result.max_abs_diff <= 1e-4  # doctest: +SKIP
    ('model.ort', True)
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from ganedge.errors import InputError, ParityError
from ganedge.io.files import check_writable
from ganedge.runtime.model import GeneratorModel, load

PARITY_SEEDS = list(range(8))
PARITY_TOLERANCE = 1e-4  # float outputs in [-1, 1]; a uint8 tail may differ by one level
TARGETS = ("ort",)


@dataclass(frozen=True)
class ConvertResult:
    """What :func:`convert_to_ort` wrote and how close it is to the source model."""

    path: Path  # the written .ort file
    source: Path  # the .onnx it came from
    size_bytes: int  # size of the .ort file
    max_abs_diff: float  # largest output difference against the .onnx on PARITY_SEEDS


def convert_to_ort(model: str | Path, out: str | Path | None = None) -> ConvertResult:
    """Write ``model`` (an exported .onnx) as an ORT-format model (default: same name, .ort).

    Raises ParityError, writing nothing, when the ORT model's output differs from the ONNX
    model's on the same latents by more than PARITY_TOLERANCE.
    """
    source = load(model, provider="cpu")
    out = Path(out) if out is not None else source.path.with_suffix(".ort")
    if out.suffix.lower() != ".ort":
        raise InputError(f"{out.name!r} does not end in .ort: name the file model.ort",
                         param="out")
    if out.resolve() == source.path.resolve():
        raise InputError("is the source model itself: give another file name", param="out")
    check_writable(out, "out")
    # ORT tells its format by the .ort suffix; it creates the file itself, honouring the umask
    tmp = out.with_name(f".{out.stem}.{secrets.token_hex(4)}.ort")
    try:
        _save_ort(source.path, tmp)
        diff = _max_difference(source, load(tmp, provider="cpu"))
        if diff > PARITY_TOLERANCE:
            raise ParityError(f"the ORT model differs from {source.path.name} by {diff:.3g} "
                              f"(tolerance {PARITY_TOLERANCE:g}): keep using the .onnx file")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return ConvertResult(out, source.path, out.stat().st_size, diff)


def _save_ort(model: Path, out: Path) -> None:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(out)
    options.add_session_config_entry("session.save_model_format", "ORT")
    ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])


def _max_difference(a: GeneratorModel, b: GeneratorModel) -> float:
    z = a.latents(PARITY_SEEDS)
    labels = np.arange(len(z)) % a.contract.num_classes if a.contract.conditional else None
    out_a, out_b = a.generate(z, labels), b.generate(z, labels)
    if a.contract.output_dtype == "uint8":  # one level is a float rounding tie, not a bug
        levels = np.abs(out_a.astype(np.int16) - out_b.astype(np.int16)).max()
        return 0.0 if levels <= 1 else float(levels)
    return float(np.abs(out_a - out_b).max())
