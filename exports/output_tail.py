"""The ``--output uint8`` tail: display-ready (B, H, W, C) uint8 pixels computed inside the graph.

Edge apps then get pixels they can show or encode without numpy, and copy a quarter of the bytes
off the device. The tail rounds exactly as ``ganedge.io.imaging.to_uint8_nhwc`` does (half to even),
so a uint8 model and a float model post-processed by the runtime give the same pixels.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ganedge.contract import ModelContract
from ganedge.errors import ConfigError

BATCH_AXIS = "batch"
MIN_OPSET = 11  # Round, and Clip with its bounds as inputs


def add_uint8_tail(model: onnx.ModelProto, contract: ModelContract) -> ModelContract:
    """Append the tail to ``model`` in place; returns the contract of the new output."""
    if contract.output_dtype == "uint8":
        return contract
    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    if opset < MIN_OPSET:
        raise ConfigError(f"uint8 needs `opset` {MIN_OPSET} or newer (got {opset})", param="output")
    graph, out = model.graph, contract.output_name
    images = f"{out}.float"
    for node in graph.node:
        node.output[:] = [images if name == out else name for name in node.output]
    low, high = contract.value_range  # (-1, 1) → (x + 1) · 127.5; (0, 1) → (x + 0) · 255
    graph.initializer.extend([numpy_helper.from_array(np.array(v, np.float32), f"{out}.{name}")
                              for name, v in (("one", -low), ("scale", 255.0 / (high - low)),
                                              ("lo", 0.0), ("hi", 255.0))])
    steps = [
        ("Add", [images, f"{out}.one"], {}),
        ("Mul", [f"{out}.shifted", f"{out}.scale"], {}),
        ("Round", [f"{out}.levels"], {}),  # half to even, like numpy's rint
        ("Clip", [f"{out}.rounded", f"{out}.lo", f"{out}.hi"], {}),
        ("Cast", [f"{out}.clipped"], {"to": TensorProto.UINT8}),
        # transpose after the cast: a quarter of the bytes to move
        ("Transpose", [f"{out}.uint8"], {"perm": [0, 2, 3, 1]}),
    ]
    results = [f"{out}.shifted", f"{out}.levels", f"{out}.rounded", f"{out}.clipped",
               f"{out}.uint8", out]
    for (op, inputs, attrs), result in zip(steps, results):
        graph.node.append(helper.make_node(op, inputs, [result], name=f"{out}.tail.{op.lower()}",
                                           **attrs))
    shape = [BATCH_AXIS, contract.height, contract.width, contract.channels]
    graph.output.remove(next(o for o in graph.output if o.name == out))
    graph.output.append(helper.make_tensor_value_info(out, TensorProto.UINT8, shape))
    onnx.checker.check_model(model)
    return replace(contract, output_dtype="uint8", output_layout="NHWC")
