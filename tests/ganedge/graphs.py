"""Tiny ONNX generators built directly with onnx.helper: quicker than training, exact to reason
about. z (B, D) → MatMul → (+ class embedding) → Tanh → (B, C, H, W) in [-1, 1], optionally
with the uint8 NHWC tail of ``ganedge.io.imaging.to_uint8_nhwc``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ganedge.contract import ModelContract


def tiny_generator(path: Path, *, latent_dim: int = 8, channels: int = 1, size: int = 4,
                   num_classes: int = 0, output_dtype: str = "float32",
                   with_contract: bool = True, seed: int = 0) -> Path:
    """Write a tiny generator to ``path`` and return it."""
    rng = np.random.default_rng(seed)
    pixels = channels * size * size
    inits = [numpy_helper.from_array((rng.standard_normal((latent_dim, pixels)) * 0.6)
                                     .astype(np.float32), "W"),
             numpy_helper.from_array(np.array([-1, channels, size, size], np.int64), "shape")]
    inputs = [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", latent_dim])]
    nodes = [helper.make_node("MatMul", ["z", "W"], ["h"])]
    pre_tanh = "h"
    if num_classes:
        inits.append(numpy_helper.from_array(
            rng.standard_normal((num_classes, pixels)).astype(np.float32), "E"))
        inputs.append(helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"]))
        nodes += [helper.make_node("Gather", ["E", "label"], ["e"]),
                  helper.make_node("Add", ["h", "e"], ["he"])]
        pre_tanh = "he"
    nodes += [helper.make_node("Tanh", [pre_tanh], ["t"]),
              helper.make_node("Reshape", ["t", "shape"], ["x"])]
    if output_dtype == "uint8":
        nodes += _uint8_tail(inits)
        out = helper.make_tensor_value_info("images", TensorProto.UINT8,
                                            ["batch", size, size, channels])
    else:
        nodes.append(helper.make_node("Identity", ["x"], ["images"]))
        out = helper.make_tensor_value_info("images", TensorProto.FLOAT,
                                            ["batch", channels, size, size])
    graph = helper.make_graph(nodes, "tiny", inputs, [out], inits)
    model = helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", 17)])
    if with_contract:
        contract = ModelContract(latent_dim=latent_dim, channels=channels, height=size, width=size,
                                 num_classes=num_classes, output_dtype=output_dtype,
                                 output_layout="NHWC" if output_dtype == "uint8" else "NCHW")
        helper.set_model_props(model, contract.to_metadata())
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _uint8_tail(inits: list) -> list:
    """clip(rint((x + 1) · 127.5), 0, 255) as uint8, NCHW → NHWC."""
    for name, value in (("one", 1.0), ("half_range", 127.5), ("lo", 0.0), ("hi", 255.0)):
        inits.append(numpy_helper.from_array(np.array(value, np.float32), name))
    return [helper.make_node("Add", ["x", "one"], ["a"]),
            helper.make_node("Mul", ["a", "half_range"], ["m"]),
            helper.make_node("Round", ["m"], ["r"]),
            helper.make_node("Clip", ["r", "lo", "hi"], ["c"]),
            helper.make_node("Cast", ["c"], ["u"], to=TensorProto.UINT8),
            helper.make_node("Transpose", ["u"], ["images"], perm=[0, 2, 3, 1])]
