"""What an ONNX graph costs and holds: FLOPs per image and the precision it computes in.

FLOPs are counted as 2 × multiply-accumulates of Conv, ConvTranspose, Gemm and MatMul (and their
quantized forms), from shapes that ONNX shape inference gives after the batch axis is set to 1.
Element-wise ops (BatchNorm, activations, casts) are left out, as in the usual GFLOP figures.

Needs the ``onnx`` package (the ``train`` or ``bench`` extra); the runtime works without it and
reports GFLOP/s as unknown.

Example:
    >>> flops_per_image("model.onnx")          # doctest: +SKIP
    209715200
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganedge.errors import InputError, MissingExtraError

BENCH_EXTRA_HINT = "pip install 'ganedge[bench]'"
INT8_OPS = {"QLinearConv", "QLinearMatMul", "ConvInteger", "MatMulInteger", "DequantizeLinear"}
# ONNX TensorProto.FLOAT16 / BFLOAT16
_HALF_TYPES = {10, 16}


@dataclass(frozen=True)
class GraphStats:
    """Per-image cost and numeric precision of one ONNX graph."""

    flops_per_image: int  # 2 × MACs of the dense ops for one image
    precision: str  # "int8", "fp16" or "fp32": the narrowest type the heavy ops run in


def graph_stats(path: str | Path) -> GraphStats:
    """Count FLOPs per image and detect the precision of the ONNX file at ``path``."""
    onnx = _import_onnx()
    model = onnx.load(str(path))
    return GraphStats(_count(onnx, model), _precision(model))


def flops_per_image(path: str | Path) -> int:
    """2 × multiply-accumulates of one image through the graph at ``path``."""
    return graph_stats(path).flops_per_image


def _import_onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise MissingExtraError(f"FLOP counting needs the onnx package: "
                                f"{BENCH_EXTRA_HINT}") from None
    return onnx


def _count(onnx: Any, model: Any) -> int:
    for value in model.graph.input:
        dims = value.type.tensor_type.shape.dim
        if dims:
            dims[0].Clear()
            dims[0].dim_value = 1  # FLOPs scale linearly with the batch: count one image
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=False)
    shapes = _shapes(inferred.graph)
    return sum(_node_flops(node, shapes) for node in inferred.graph.node)


def _shapes(graph: Any) -> dict[str, tuple[int, ...]]:
    shapes = {init.name: tuple(init.dims) for init in graph.initializer}
    for value in [*graph.input, *graph.value_info, *graph.output]:
        dims = value.type.tensor_type.shape.dim
        if all(d.HasField("dim_value") for d in dims):
            shapes[value.name] = tuple(d.dim_value for d in dims)
    return shapes


# Which input holds the weights, which the data, per op type (quantized ops interleave scales).
_CONV_INPUTS = {"Conv": (0, 1), "ConvInteger": (0, 1), "QLinearConv": (0, 3),
                "ConvTranspose": (0, 1)}
_MATMUL_INPUTS = {"MatMul": (0, 1), "MatMulInteger": (0, 1), "QLinearMatMul": (0, 3),
                  "Gemm": (0, 1)}


def _node_flops(node: Any, shapes: dict[str, tuple[int, ...]]) -> int:
    if node.op_type in _CONV_INPUTS:
        x, w = (_shape(node, shapes, i) for i in _CONV_INPUTS[node.op_type])
        y = _shape(node, shapes, None)
        if node.op_type == "ConvTranspose":
            # every input pixel scatters C_in × (C_out/g) × k_h × k_w products;
            # w: (C_in, C_out/g, kh, kw)
            return 2 * math.prod(x) * math.prod(w[1:])
        # every output pixel gathers (C_in/g) × k_h × k_w products; w: (C_out, C_in/g, kh, kw)
        return 2 * math.prod(y) * math.prod(w[1:])
    if node.op_type in _MATMUL_INPUTS:
        a, _ = (_shape(node, shapes, i) for i in _MATMUL_INPUTS[node.op_type])
        y = _shape(node, shapes, None)
        trans_a = any(att.name == "transA" and att.i for att in node.attribute)
        k = a[0] if (node.op_type == "Gemm" and trans_a) else a[-1]
        return 2 * math.prod(y) * k
    return 0


def _shape(node: Any, shapes: dict[str, tuple[int, ...]], index: int | None) -> tuple[int, ...]:
    name = node.output[0] if index is None else node.input[index]
    if name not in shapes:
        raise InputError(f"model: shape of {name!r} ({node.op_type} {node.name!r}) is unknown "
                         "after shape inference: FLOPs cannot be counted; re-export with static "
                         "shapes")
    return shapes[name]


def _precision(model: Any) -> str:
    if any(node.op_type in INT8_OPS for node in model.graph.node):
        return "int8"
    if any(init.data_type in _HALF_TYPES for init in model.graph.initializer):
        return "fp16"
    return "fp32"
