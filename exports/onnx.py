"""Trace a generator to ONNX with a symbolic batch axis, prove parity, embed the contract.

Example:
    >>> from exports import export_generator
    >>> export_generator(my_generator, "model.onnx", latent_dim=64)   # doctest: +SKIP
"""

from __future__ import annotations

import io
import json
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import onnx
import onnxruntime as ort
import torch
from torch import nn

from ganedge.contract import KEY_PARITY, KEY_PROVENANCE, ModelContract
from ganedge.errors import ConfigError, ParityError
from ganedge.files import atomic_path, check_writable
from exports.parity import ParityReport, check_parity, example_inputs
from exports.prepare import check_no_random_ops, prepare

DEFAULT_OPSET = 17
BATCH_AXIS = "batch"
TRACE_BATCH = 2  # not 1, so nothing can special-case a singleton batch while tracing
EXPORTER = "torchscript"


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote and how well it matched PyTorch."""

    path: Path
    contract: ModelContract
    parity: ParityReport
    size_bytes: int


def export_generator(module: nn.Module, path: str | Path, latent_dim: int, num_classes: int = 0,
                     opset: int = DEFAULT_OPSET, provenance: dict[str, Any] | None = None,
                     allow_mismatch: bool = False) -> ExportResult:
    """Export a generator mapping (B, latent_dim) [+ labels (B,) int64] → (B, C, H, W) in [-1, 1].

    The module is deep-copied, put in eval mode and its parametrizations (spectral/weight norm)
    folded into plain weights; the caller's module is left untouched. The file is written
    atomically, only after parity with PyTorch holds at batch 1, 3 and 64 (unless
    ``allow_mismatch``); it carries the ganedge contract, provenance and parity figures.
    """
    path = check_writable(path, "-o/--output")
    module = prepare(module)
    contract = _infer_contract(module, latent_dim, num_classes)
    model = _trace(module, contract, opset)
    check_no_random_ops(model)
    _check_symbolic_batch(model)
    parity = check_parity(module, model.SerializeToString(), contract)
    if not (parity.ok or allow_mismatch):
        parity.raise_if_failed(contract.output_name)
    meta = {**contract.to_metadata(),
            KEY_PROVENANCE: json.dumps(_provenance(opset, provenance or {}), sort_keys=True),
            KEY_PARITY: json.dumps(parity.to_dict(), sort_keys=True)}
    onnx.helper.set_model_props(model, meta)
    with atomic_path(path, "-o/--output") as tmp:
        onnx.save_model(model, str(tmp))
    return ExportResult(path, contract, parity, path.stat().st_size)


def _infer_contract(module: nn.Module, latent_dim: int, num_classes: int) -> ModelContract:
    if latent_dim < 1:
        raise ConfigError(f"latent_dim: must be at least 1 (got {latent_dim})")
    if num_classes < 0:
        raise ConfigError(f"num_classes: must be >= 0 (got {num_classes})")
    with torch.no_grad():
        out = module(*example_inputs(TRACE_BATCH, latent_dim, num_classes))
    if out.ndim != 4 or out.shape[0] != TRACE_BATCH:
        raise ConfigError(
            f"generator: expected output (B, C, H, W) for input (B, {latent_dim}) "
            f"(got {tuple(out.shape)}): check latent_dim"
        )
    _, channels, height, width = out.shape
    return ModelContract(latent_dim=latent_dim, channels=channels, height=height, width=width,
                         num_classes=num_classes)


def _trace(module: nn.Module, contract: ModelContract, opset: int) -> onnx.ModelProto:
    buffer = io.BytesIO()
    inputs = [contract.input_name] + ([contract.label_input_name] if contract.conditional else [])
    names = [*inputs, contract.output_name]
    with warnings.catch_warnings(), torch.no_grad():
        # the TorchScript exporter announces its deprecation on every call
        warnings.simplefilter("ignore", (DeprecationWarning, FutureWarning, UserWarning))
        torch.onnx.export(
            module, example_inputs(TRACE_BATCH, contract.latent_dim, contract.num_classes), buffer,
            input_names=inputs, output_names=[contract.output_name], opset_version=opset,
            dynamic_axes={name: {0: BATCH_AXIS} for name in names}, dynamo=False,
        )
    return onnx.load_from_string(buffer.getvalue())


def _check_symbolic_batch(model: onnx.ModelProto) -> None:
    for value in [*model.graph.input, *model.graph.output]:
        dim = value.type.tensor_type.shape.dim[0]
        if dim.dim_param != BATCH_AXIS:
            raise ParityError(
                f"export: {value.name!r} has a fixed batch axis ({dim.dim_value}) after tracing: "
                "the model reads its batch size as a Python int; use tensor ops instead"
            )


def _provenance(opset: int, extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "exporter": EXPORTER,
        "opset": opset,
        "torch": torch.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": ort.__version__,
        "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **extra,
    }
