"""A tiny ONNX file shaped like an exported StyleGAN (ganedge.contract's num_ws > 0): a mapping
z (+ label) → mapped_ws (B, num_ws, w_dim) and a synthesis ws (B', num_ws, w_dim) → images,
side by side in one graph, with its contract."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ganedge.contract import ModelContract

NUM_WS, W_DIM = 4, 6


def tiny_stylegan(path: Path, *, latent_dim: int = 8, channels: int = 3, size: int = 8,
                  num_classes: int = 0, seed: int = 0) -> Path:
    """Write the model to ``path`` and return it."""
    rng = np.random.default_rng(seed)
    pixels = channels * size * size
    inits = [numpy_helper.from_array(rng.standard_normal((latent_dim, NUM_WS * W_DIM))
                                     .astype(np.float32), "Wm"),
             numpy_helper.from_array((rng.standard_normal((NUM_WS * W_DIM, pixels)) * 0.3)
                                     .astype(np.float32), "Ws"),
             numpy_helper.from_array(np.array([-1, NUM_WS, W_DIM], np.int64), "ws_shape"),
             numpy_helper.from_array(np.array([-1, NUM_WS * W_DIM], np.int64), "flat"),
             numpy_helper.from_array(np.array([-1, channels, size, size], np.int64), "img")]
    inputs = [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", latent_dim]),
              helper.make_tensor_value_info("ws", TensorProto.FLOAT, ["wbatch", NUM_WS, W_DIM])]
    nodes = [helper.make_node("MatMul", ["z", "Wm"], ["m"])]
    mapped = "m"
    if num_classes:
        inits.append(numpy_helper.from_array(
            rng.standard_normal((num_classes, NUM_WS * W_DIM)).astype(np.float32), "E"))
        inputs.append(helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"]))
        nodes += [helper.make_node("Gather", ["E", "label"], ["e"]),
                  helper.make_node("Add", ["m", "e"], ["me"])]
        mapped = "me"
    nodes += [helper.make_node("Reshape", [mapped, "ws_shape"], ["mapped_ws"]),
              helper.make_node("Reshape", ["ws", "flat"], ["wf"]),
              helper.make_node("MatMul", ["wf", "Ws"], ["s"]),
              helper.make_node("Tanh", ["s"], ["t"]),
              helper.make_node("Reshape", ["t", "img"], ["images"])]
    outputs = [helper.make_tensor_value_info("mapped_ws", TensorProto.FLOAT,
                                             ["batch", NUM_WS, W_DIM]),
               helper.make_tensor_value_info("images", TensorProto.FLOAT,
                                             ["wbatch", channels, size, size])]
    model = helper.make_model(helper.make_graph(nodes, "tiny_stylegan", inputs, outputs, inits),
                              ir_version=8, opset_imports=[helper.make_opsetid("", 17)])
    w_avg = tuple(float(v) for v in rng.standard_normal(W_DIM).astype(np.float32))
    contract = ModelContract(latent_dim=latent_dim, channels=channels, height=size, width=size,
                             num_classes=num_classes, num_ws=NUM_WS, w_dim=W_DIM, w_avg=w_avg)
    helper.set_model_props(model, contract.to_metadata())
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path

