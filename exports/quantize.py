"""Reduced-precision variants of an optimized fp32 graph: fp16 and int8.

fp16: weights and activations in half precision, with the model's inputs and outputs kept fp32 (so
the runtime's contract does not change) and normalization layers kept fp32 (their variance sums
overflow fp16). Meant for GPUs; on CPUs without fp16 arithmetic it is slower, and export says so.

int8: static QDQ quantization, per-channel int8 weights and uint8 activations, with activation
ranges calibrated on the generator's own latents (standard normal, seeds kept apart from the
parity seeds so parity measures unseen inputs). Only Conv, MatMul and Gemm are quantized: ONNX
Runtime has int8 kernels for them, not for ConvTranspose, which is why the ConvTranspose rewrites
run first. Two choices measured on a trained digits generator (8-bit levels against PyTorch):
- weights use 7 bits (``reduce_range``) by default: on CPUs without VNNI, ORT's u8×s8 kernels add
  pairs of products in saturating int16, which clipped pixels by up to 79 levels; 7-bit weights
  cannot overflow (max error 12 levels, mean 1.4). ``weight_bits=8`` is the explicit choice for
  machines with AVX-512 VNNI, AVX-VNNI or AMX, whose int8 dot products accumulate in int32 and
  never saturate (DCGAN-64, random init: mean error 0.011 levels at 8 bits vs 0.014 at 7). The
  bits are an export option, never guessed from the exporting machine, so the file is the same
  wherever it is made;
- the image layer (the last convolutions, which produce the C output channels) stays fp32: it
  decides every pixel directly, and with 1–3 output channels int8 buys it no speed (DCGAN-64:
  1.50× fp32 with it kept fp32, 1.32× without, at batch 1).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx

from exports.parity import LEVELS, Tolerance
from ganedge.contract import ModelContract
from ganedge.errors import ConfigError, one_line
from ganedge.sampling.latents import latents_for_seeds

PRECISIONS = ("fp32", "fp16", "int8")
INT8_WEIGHT_BITS = (7, 8)  # 7: safe on every x86 CPU; 8: for VNNI/AMX targets
FP16_TOLERANCE = Tolerance(max=8.0, mean=0.5, unit=LEVELS)
INT8_TOLERANCE = Tolerance(max=32.0, mean=2.0, unit=LEVELS)
TOLERANCES = {"fp16": FP16_TOLERANCE, "int8": INT8_TOLERANCE}

CALIBRATION_SEED = 1_000_000  # first latent seed used for calibration; parity uses 0..63
CALIBRATION_IMAGES = 256
CALIBRATION_BATCH = 32
INT8_OPS = ["Conv", "MatMul", "Gemm"]
FP32_OPS = ["BatchNormalization", "InstanceNormalization", "LayerNormalization",
            "GroupNormalization", "Resize", "Upsample"]


def to_fp16(model: onnx.ModelProto) -> onnx.ModelProto:
    """An fp16 copy of ``model``: fp32 inputs/outputs, normalization and resampling kept fp32."""
    from onnxruntime.transformers.float16 import DEFAULT_OP_BLOCK_LIST, convert_float_to_float16

    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    return convert_float_to_float16(copy, keep_io_types=True,
                                    op_block_list=[*DEFAULT_OP_BLOCK_LIST, *FP32_OPS])


def to_int8(model: onnx.ModelProto, contract: ModelContract,
            weight_bits: int = 7) -> onnx.ModelProto:
    """A statically quantized (QDQ, per-channel) copy of ``model``, calibrated on seeded latents,
    with ``weight_bits`` (7 or 8) bit weights.

    Raises ConfigError when the graph has nothing ONNX Runtime runs in int8.
    """
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    if not any(n.op_type in INT8_OPS for n in model.graph.node):
        raise ConfigError("int8: the graph has no Conv/MatMul/Gemm to quantize; use fp32 or fp16",
                          param="precision")

    class Latents(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = _calibration_feeds(contract)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.batches, None)

    with tempfile.TemporaryDirectory(prefix="ganedge-int8-") as tmp:
        src, dst = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        onnx.save_model(model, str(src))
        # ORT logs "consider pre-processing" on the root logger; the graph here is already
        # optimized and shape-inferred, so the advice only clutters the export report
        previous = logging.root.manager.disable
        logging.disable(logging.WARNING)
        try:
            quantize_static(str(src), str(dst), Latents(), quant_format=QuantFormat.QDQ,
                            op_types_to_quantize=INT8_OPS, per_channel=True,
                            reduce_range=weight_bits == 7,
                            nodes_to_exclude=_image_layer(model),
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            calibrate_method=CalibrationMethod.MinMax,
                            extra_options={"CalibTensorRangeSymmetric": False})
        finally:
            logging.disable(previous)
        return onnx.load(str(dst))


def _image_layer(model: onnx.ModelProto) -> list[str]:
    """Names of the last Conv layer: the Convs that no Conv, MatMul or Gemm follows on the way to
    the output (the four phase Convs, or the one fused Conv, that make the image's channels)."""
    # ONNX lists nodes in topological order: walking it backwards, a tensor leads to a layer when
    # a layer reads it or a node reads it whose output leads to one
    leads_to_layer: set[str] = set()
    for node in reversed(model.graph.node):
        if node.op_type in INT8_OPS or any(o in leads_to_layer for o in node.output):
            leads_to_layer.update(node.input)
    return [n.name for n in model.graph.node
            if n.op_type == "Conv" and not any(o in leads_to_layer for o in n.output)]


def _calibration_feeds(contract: ModelContract) -> Iterator[dict[str, np.ndarray]]:
    for start in range(0, CALIBRATION_IMAGES, CALIBRATION_BATCH):
        seeds = range(CALIBRATION_SEED + start, CALIBRATION_SEED + start + CALIBRATION_BATCH)
        feed = {contract.input_name: latents_for_seeds(seeds, contract.latent_dim)}
        if contract.conditional:
            feed[contract.label_input_name] = (np.arange(CALIBRATION_BATCH, dtype=np.int64)
                                               % contract.num_classes)
        yield feed


def reduce_precision(model: onnx.ModelProto, contract: ModelContract, precision: str,
                     int8_weight_bits: int = 7) -> onnx.ModelProto:
    """``model`` at ``precision`` ("fp32" returns it unchanged); int8 with ``int8_weight_bits``.

    A converter that fails on an unusual graph is reported as one ConfigError line, not a trace.
    """
    if precision not in PRECISIONS:
        raise ConfigError(f"must be one of {list(PRECISIONS)} (got {precision!r})",
                          param="precision")
    if int8_weight_bits not in INT8_WEIGHT_BITS:
        raise ConfigError(f"must be one of {list(INT8_WEIGHT_BITS)} (got {int8_weight_bits})",
                          param="int8_weight_bits")
    if precision == "fp32":
        return model
    try:
        return to_fp16(model) if precision == "fp16" else to_int8(model, contract, int8_weight_bits)
    except ConfigError:
        raise
    except Exception as exc:  # the converters raise whatever their graph walk hits
        raise ConfigError(f"{precision}: ONNX Runtime's converter failed on this graph "
                          f"({one_line(exc)}): export fp32 instead", param="precision") from None
