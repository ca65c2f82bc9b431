"""Trace a generator to ONNX with a symbolic batch axis, prove parity, embed the contract.

Example:
    >>> from exports import export_generator
    >>> export_generator(my_generator, "model.onnx", latent_dim=64)   # doctest: +SKIP
"""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import onnx
import onnxruntime as ort
import torch
from torch import nn

from exports.grading import describe as describe_grade, grade
from exports.optimize import optimize as optimize_graph
from exports.output_tail import add_uint8_tail
from exports.parity import UINT8_TOLERANCE, ParityReport, check_parity, example_inputs
from exports.prepare import check_no_random_ops, prepare
from exports.quantize import INT8_WEIGHT_BITS, PRECISIONS, TOLERANCES, reduce_precision
from exports.report import Step, StepLog, StepNote
from exports.stylegan import check_stylegan_parity, stylegan_contract, trace_stylegan
from ganedge.contract import KEY_PARITY, KEY_PROVENANCE, ModelContract
from ganedge.errors import ConfigError, ParityError
from ganedge.io.datasets import check_spec
from ganedge.io.files import atomic_path, check_writable

DEFAULT_OPSET = 17
# Round and input-form Clip (uint8 tail) need 11; the TorchScript exporter stops at 20.
OPSETS = range(11, 21)
BATCH_AXIS = "batch"
TRACE_BATCH = 2  # not 1, so nothing can special-case a singleton batch while tracing
RANGE_PROBE_BATCH = 8  # parity latents whose outputs decide the output range
EXPORTER = "torchscript"
OUTPUTS = ("float", "uint8")
TIME_IT = "time it on the target machine: ganedge bench FP32.onnx VARIANT.onnx"


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote, how well it matched PyTorch, and the timed report of each step."""

    path: Path
    contract: ModelContract
    parity: ParityReport  # the written graph against PyTorch, at its precision's tolerance
    size_bytes: int
    steps: tuple[Step, ...]
    provenance: dict[str, Any]

    def report(self) -> str:
        """The one-screen ✓/✗ report."""
        return "\n".join(step.format() for step in self.steps)


def export_generator(module: nn.Module, path: str | Path, latent_dim: int, num_classes: int = 0,
                     opset: int = DEFAULT_OPSET, provenance: dict[str, Any] | None = None,
                     allow_mismatch: bool = False, *, precision: str = "fp32",
                     output: str = "float", optimize: bool | None = None,
                     grade_data: str | None = None,
                     int8_weight_bits: int = 7,
                     on_step: Callable[[Step], None] | None = None) -> ExportResult:
    """Export a generator mapping (B, latent_dim) [+ labels (B,) int64] → (B, C, H, W) in [-1, 1]
    (tanh) or [0, 1] (sigmoid: inferred from its outputs on the parity latents, recorded as the
    contract's output_range).

    The module is deep-copied, put in eval mode and its parametrizations (spectral/weight norm)
    folded into plain weights; the caller's module is left untouched. The traced graph must match
    PyTorch at batch 1, 3 and 64; then the graph rewrites (ConvTranspose → Conv/MatMul) are
    applied when ``optimize`` says so — by default (None) for fp16 and int8, whose ONNX Runtime
    kernels need Conv, and not for fp32, where the plain trace ran faster on every CPU measured
    honestly (docs/benchmarks.md) — and kept whenever parity holds: a rule, never a timing, so
    one checkpoint and one set of options give the same bytes on every machine (speed is for
    ``ganedge bench`` on the target machine);
    ``precision`` "fp16"/"int8" makes a reduced variant, measured for 8-bit error against fp32;
    ``int8_weight_bits`` 8 suits VNNI/AMX targets (see exports.quantize); ``output`` "uint8"
    appends the display-ready (B, H, W, C) tail. ``grade_data`` (e.g. "digits") also scores the
    variant and fp32 with the offline evaluation metric. The file is written
    atomically, only when every check passed (unless ``allow_mismatch``), with the contract,
    provenance and parity figures in its metadata (no time stamp).
    ``on_step`` sees each ✓/✗ step as it finishes.
    """
    _check_choice("precision", precision, PRECISIONS)
    _check_choice("output", output, OUTPUTS)
    if int8_weight_bits not in INT8_WEIGHT_BITS:
        raise ConfigError(f"must be one of {list(INT8_WEIGHT_BITS)} (got {int8_weight_bits})",
                          param="int8_weight_bits")
    if is_stylegan(module) and (precision, output) != ("fp32", "float"):
        raise ConfigError("StyleGAN models export as fp32 with float output only: drop "
                          "`precision` and `output`", param="precision")
    if grade_data is not None:
        if precision == "fp32":
            raise ConfigError("grades a reduced-precision variant against fp32: "
                              "set `precision` to fp16 or int8", param="grade_data")
        check_spec(grade_data, "grade_data")
    if opset not in OPSETS:
        raise ConfigError(f"must be in {OPSETS.start}..{OPSETS.stop - 1} (got {opset})",
                          param="opset")
    path = check_writable(path, "path")
    log = StepLog(on_step)
    if is_stylegan(module):
        return _export_stylegan(log, module, path, latent_dim, num_classes, opset, provenance,
                                allow_mismatch)
    prepared, contract, traced, parity = _traced(log, module, latent_dim, num_classes, opset,
                                                 allow_mismatch)
    facts: dict[str, Any] = {"fp32_parity": parity.to_dict()}
    model = traced
    if optimize is None:
        optimize = precision != "fp32"
    if optimize:
        with log.step("optimize") as note:
            model, facts["optimize"] = _optimized(prepared, traced, contract, note)
    if precision != "fp32":
        with log.step(precision) as note:
            fp32 = model
            model, parity, facts[precision] = _reduced(prepared, model, contract, precision, note,
                                                        allow_mismatch, int8_weight_bits)
        if grade_data is not None:
            with log.step("grade") as note:
                facts[precision]["metric"] = figures = grade({"fp32": fp32, precision: model},
                                                             contract, grade_data)
                note.detail = f"on {grade_data}: {describe_grade(figures, precision)}"
    if output == "uint8":
        with log.step("uint8") as note:
            contract, parity = _with_uint8_tail(prepared, model, contract, precision, note,
                                                allow_mismatch)
    record = _provenance(opset, {**(provenance or {}), "precision": precision, "output": output,
                                 **facts})
    with log.step("write") as note:
        size = _write(model, path, contract, record, parity)
        note.detail = f"{path} ({size / 1e6:.2f} MB, self-contained)"
    return ExportResult(path, contract, parity, size, tuple(log.steps), record)


def is_stylegan(module: nn.Module) -> bool:
    """Whether ``module`` is a StyleGAN generator: a ``mapping`` z → ws and a ``synthesis``
    ws → images, with ``num_ws`` and ``w_dim``."""
    return all(hasattr(module, name) for name in ("mapping", "synthesis", "num_ws", "w_dim"))


def _export_stylegan(log: StepLog, module: nn.Module, path: Path, latent_dim: int,
                     num_classes: int, opset: int, provenance: dict[str, Any] | None,
                     allow_mismatch: bool) -> ExportResult:
    """Mapping and synthesis as two independent subgraphs of one file (see exports.stylegan);
    each half must match PyTorch at batch 1, 3 and 64."""
    with log.step("prepare") as note:
        prepared = prepare(module)
        note.detail = f"eval mode, constant noise; {_parameters(prepared):,} parameters"
    with log.step("trace") as note:
        contract = stylegan_contract(prepared)
        if (contract.latent_dim, contract.num_classes) != (latent_dim, num_classes):
            raise ConfigError(f"latent_dim/num_classes: the generator takes z of "
                              f"{contract.latent_dim} and {contract.num_classes} classes "
                              f"(got {latent_dim}, {num_classes})")
        traced = trace_stylegan(prepared, contract, opset)
        check_no_random_ops(traced)
        note.detail = (f"{EXPORTER} exporter, opset {opset}, mapping z → ws and synthesis "
                       f"ws ({contract.num_ws}×{contract.w_dim}) → images, batch axes symbolic, "
                       f"{len(traced.graph.node)} nodes")
    with log.step("parity") as note:
        mapping, parity = check_stylegan_parity(prepared, traced.SerializeToString(), contract)
        note.detail = f"mapping {mapping.summary()}; synthesis {parity.summary()}"
        note.warning = not (mapping.ok and parity.ok)
        if not allow_mismatch:
            mapping.raise_if_failed(contract.ws_output_name)
            parity.raise_if_failed(contract.output_name)
    record = _provenance(opset, {**(provenance or {}), "precision": "fp32", "output": "float",
                                 "mapping_parity": mapping.to_dict()})
    with log.step("write") as note:
        size = _write(traced, path, contract, record, parity)
        note.detail = f"{path} ({size / 1e6:.2f} MB, self-contained)"
    return ExportResult(path, contract, parity, size, tuple(log.steps), record)


def _traced(log: StepLog, module: nn.Module, latent_dim: int, num_classes: int, opset: int,
            allow_mismatch: bool) -> tuple[nn.Module, ModelContract, onnx.ModelProto, ParityReport]:
    """The prepare, trace and parity steps: (prepared module, contract, traced graph, parity)."""
    with log.step("prepare") as note:
        prepared = prepare(module)
        note.detail = f"eval mode, parametrizations folded; {_parameters(prepared):,} parameters"
    with log.step("trace") as note:
        contract = infer_contract(prepared, latent_dim, num_classes)
        traced = trace_generator(prepared, contract, opset)
        check_no_random_ops(traced)
        _check_symbolic_batch(traced)
        note.detail = (f"{EXPORTER} exporter, opset {opset}, batch axis symbolic, "
                       f"{len(traced.graph.node)} nodes")
    with log.step("parity") as note:
        parity = check_parity(prepared, traced.SerializeToString(), contract)
        note.detail = parity.summary()
        note.warning = not parity.ok
        if not (parity.ok or allow_mismatch):
            parity.raise_if_failed(contract.output_name)
    return prepared, contract, traced, parity


def _with_uint8_tail(module: nn.Module, model: onnx.ModelProto, contract: ModelContract,
                     precision: str, note: StepNote,
                     allow_mismatch: bool) -> tuple[ModelContract, ParityReport]:
    """Append the uint8 tail to ``model`` in place; its contract and parity in 8-bit levels."""
    contract = add_uint8_tail(model, contract)
    tolerance = TOLERANCES.get(precision, UINT8_TOLERANCE)
    parity = check_parity(module, model.SerializeToString(), contract, tolerance)
    note.detail = f"(B, H, W, C) uint8 tail; {parity.summary()}"
    if not (parity.ok or allow_mismatch):
        parity.raise_if_failed(contract.output_name)
    return contract, parity


def _write(model: onnx.ModelProto, path: Path, contract: ModelContract, record: dict[str, Any],
           parity: ParityReport) -> int:
    """Metadata in, then an atomic save; returns the file's size in bytes."""
    meta = {**contract.to_metadata(),
            KEY_PROVENANCE: json.dumps(record, sort_keys=True),
            KEY_PARITY: json.dumps(parity.to_dict(), sort_keys=True)}
    onnx.helper.set_model_props(model, meta)
    with atomic_path(path, "path") as tmp:
        onnx.save_model(model, str(tmp))
    return path.stat().st_size


def _parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _check_choice(option: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"must be one of {list(choices)} (got {value!r})", param=option)


def _optimized(module: nn.Module, traced: onnx.ModelProto, contract: ModelContract,
               note: StepNote) -> tuple[onnx.ModelProto, dict[str, Any]]:
    """(the rewritten graph, or the traced one when the rewrites break parity; facts)."""
    optimized, report = optimize_graph(traced)
    parity = check_parity(module, optimized.SerializeToString(), contract)
    facts: dict[str, Any] = {**asdict(report), "parity_ok": parity.ok, "kept": parity.ok}
    if not parity.ok:
        note.warning = True
        note.detail = f"rewrites dropped, they broke parity ({parity.summary()})"
        return traced, facts
    note.detail = f"{report.summary()}; parity kept"
    return optimized, facts


def _reduced(module: nn.Module, source: onnx.ModelProto, contract: ModelContract, precision: str,
             note: StepNote, allow_mismatch: bool, int8_weight_bits: int = 7
             ) -> tuple[onnx.ModelProto, ParityReport, dict[str, Any]]:
    """The variant of ``source`` and its error against PyTorch fp32 (speed: ``ganedge bench``)."""
    variant = reduce_precision(source, contract, precision, int8_weight_bits)
    parity = check_parity(module, variant.SerializeToString(), contract, TOLERANCES[precision])
    note.detail = f"{parity.summary()}; {TIME_IT}"
    note.warning = not parity.ok
    if not (parity.ok or allow_mismatch):
        parity.raise_if_failed(contract.output_name, what=f"{precision} quality")
    facts: dict[str, Any] = {"error_levels": {"max": parity.max_err, "mean": parity.mean_err}}
    if precision == "int8":
        facts["weight_bits"] = int8_weight_bits
    return variant, parity, facts


def infer_contract(module: nn.Module, latent_dim: int, num_classes: int) -> ModelContract:
    """The contract of a prepared generator, from one forward pass at the trace batch size."""
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
                         num_classes=num_classes,
                         output_range=_output_range(module, latent_dim, num_classes))


def _output_range(module: nn.Module, latent_dim: int, num_classes: int) -> str:
    """"0,1" when the generator's outputs on the parity latents all lie in [0, 1] (a sigmoid
    head), else "-1,1" (tanh): a tanh generator always produces some negative pixels."""
    with torch.no_grad():
        out = module(*example_inputs(RANGE_PROBE_BATCH, latent_dim, num_classes))
    return "0,1" if 0.0 <= float(out.min()) and float(out.max()) <= 1.0 else "-1,1"


def trace_generator(module: nn.Module, contract: ModelContract, opset: int) -> onnx.ModelProto:
    """The TorchScript exporter's graph of a prepared generator, batch axis symbolic."""
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
        **extra,
    }
