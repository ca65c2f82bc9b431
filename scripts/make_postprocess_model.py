"""Regenerate ganedge/models/postprocess.onnx: a generator's float output to pixels, run where the
generator runs. Needs the onnx package.

    images (B, C, H, W) float, low (), scale () → pixels (B, H, W, C) uint8, nonfinite () float

pixels = clip(round(where(isnan(m), 0, m)), 0, 255) with m = (images − low) · scale, rounding half
to even: exactly ``ganedge.io.imaging.to_uint8_nhwc`` (NaN → 0, ±Inf → the ends). ``nonfinite`` is
1.0 when any value of ``images`` is NaN or ±Inf, else 0.0. Chained to the generator's output on
the same device, the host gets 4× fewer bytes back and never scans the floats.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

TARGET = Path(__file__).resolve().parent.parent / "ganedge" / "models" / "postprocess.onnx"


def build() -> onnx.ModelProto:
    """The post-processing graph (IR 8 / opset 17, as old as every supported onnxruntime)."""
    inputs = [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["b", "c", "h", "w"]),
              helper.make_tensor_value_info("low", TensorProto.FLOAT, []),
              helper.make_tensor_value_info("scale", TensorProto.FLOAT, [])]
    outputs = [helper.make_tensor_value_info("pixels", TensorProto.UINT8, ["b", "h", "w", "c"]),
               helper.make_tensor_value_info("nonfinite", TensorProto.FLOAT, [])]
    inits = [numpy_helper.from_array(np.array(v, np.float32), name)
             for name, v in (("zero", 0.0), ("top", 255.0))]
    nodes = [
        # the same two float32 roundings as to_uint8_nhwc: subtract, then multiply
        helper.make_node("Sub", ["images", "low"], ["shifted"]),
        helper.make_node("Mul", ["shifted", "scale"], ["levels"]),
        helper.make_node("IsNaN", ["levels"], ["is_nan"]),
        helper.make_node("Where", ["is_nan", "zero", "levels"], ["no_nan"]),
        # clip before rounding equals numpy's round-then-clip: both bounds are integers
        helper.make_node("Clip", ["no_nan", "zero", "top"], ["clipped"]),
        helper.make_node("Round", ["clipped"], ["rounded"]),  # half to even, as np.rint
        helper.make_node("Cast", ["rounded"], ["bytes"], to=TensorProto.UINT8),
        helper.make_node("Transpose", ["bytes"], ["pixels"], perm=[0, 2, 3, 1]),
        helper.make_node("IsNaN", ["images"], ["raw_nan"]),
        helper.make_node("IsInf", ["images"], ["raw_inf"]),
        helper.make_node("Or", ["raw_nan", "raw_inf"], ["bad"]),
        helper.make_node("Cast", ["bad"], ["bad_float"], to=TensorProto.FLOAT),
        helper.make_node("ReduceMax", ["bad_float"], ["nonfinite"], keepdims=0),
    ]
    graph = helper.make_graph(nodes, "ganedge_postprocess", inputs, outputs, inits)
    model = helper.make_model(graph, producer_name="ganedge", ir_version=8,
                              opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model


def main() -> None:
    onnx.save(build(), str(TARGET))
    print(f"wrote {TARGET} ({TARGET.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
