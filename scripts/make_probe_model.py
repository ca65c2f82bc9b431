"""Regenerate ganedge/models/probe.onnx: y = x + x on a (1,) float, used by `ganedge env` to test
whether a session really starts and runs on each execution provider. Needs the onnx package."""

from __future__ import annotations

from pathlib import Path

import onnx
from onnx import TensorProto, helper

TARGET = Path(__file__).resolve().parent.parent / "ganedge" / "models" / "probe.onnx"


def main() -> None:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Add", ["x", "x"], ["y"])], "probe", [x], [y])
    # IR 8 / opset 17: old enough for every onnxruntime ganedge supports (>= 1.18)
    model = helper.make_model(graph, producer_name="ganedge", ir_version=8,
                              opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, str(TARGET))
    print(f"wrote {TARGET} ({TARGET.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
