"""A StyleGAN file's halves as separate ONNX models, and the W-truncation model between them
(needs the onnx package: ``pip install 'ganedge[triton]'``).

An exported StyleGAN file holds the mapping z [+ label] → ws and the synthesis ws → images side
by side, sharing no node (see :class:`ganedge.contract.ModelContract`). Triton feeds every input
of a model with the same batch, so the one file cannot be batched; each half, pruned to the nodes
its outputs need, can. The halves keep the source's opset, IR version and node order; they carry
no ganedge contract of their own (the ensemble's config carries it).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ganedge.contract import ModelContract

TRUNCATED = "truncated_ws"  # the truncation model's output
PSI = "psi"  # the truncation model's (B, 1) input: ψ per row


def prune(model: onnx.ModelProto, outputs: Iterable[str]) -> onnx.ModelProto:
    """A copy of ``model`` that computes only ``outputs``: the nodes, inputs and initializers
    they depend on, in the source's order."""
    wanted = list(outputs)
    needed = set(wanted)
    kept = []
    for node in reversed(model.graph.node):
        if needed.intersection(node.output):
            kept.append(node)
            needed.update(_node_inputs(node))
    out = onnx.ModelProto()
    out.CopyFrom(model)
    graph = out.graph
    _replace(graph.node, reversed(kept))
    _replace(graph.input, [v for v in model.graph.input if v.name in needed])
    _replace(graph.initializer, [t for t in model.graph.initializer if t.name in needed])
    _replace(graph.output, [v for v in model.graph.output if v.name in wanted])
    made = {name for node in kept for name in node.output}
    _replace(graph.value_info, [v for v in model.graph.value_info if v.name in made])
    del out.metadata_props[:]
    return out


def _node_inputs(node: onnx.NodeProto) -> set[str]:
    """The names a node reads, including those its subgraphs (If/Loop bodies) read from outside."""
    names = {name for name in node.input if name}
    for attribute in node.attribute:
        for graph in [attribute.g, *attribute.graphs]:
            for inner in graph.node:
                names |= _node_inputs(inner)
    return names


def _replace(field: object, items: Iterable[object]) -> None:
    items = list(items)
    del field[:]  # type: ignore[attr-defined]
    field.extend(items)  # type: ignore[attr-defined]


def halves(path: str, contract: ModelContract) -> tuple[onnx.ModelProto, onnx.ModelProto]:
    """(mapping, synthesis) of the StyleGAN file at ``path``."""
    model = onnx.load(path)
    return (prune(model, [contract.ws_output_name]), prune(model, [contract.output_name]))


def truncation_model(contract: ModelContract, source: onnx.ModelProto) -> onnx.ModelProto:
    """ws (B, num_ws, w_dim), psi (B, 1) → w_avg + ψ·(ws − w_avg) per row, float32: the
    runtime's ``truncate_ws`` on every w, with the contract's w_avg as an initializer."""
    c = contract
    w_avg = np.asarray(c.w_avg, np.float32).reshape(1, 1, c.w_dim)
    nodes = [helper.make_node("Reshape", [PSI, "psi_shape"], ["psi_rows"]),  # (B, 1, 1)
             helper.make_node("Sub", [c.ws_input_name, "w_avg"], ["offset"]),
             helper.make_node("Mul", ["psi_rows", "offset"], ["scaled"]),
             helper.make_node("Add", ["w_avg", "scaled"], [TRUNCATED])]
    inputs = [helper.make_tensor_value_info(c.ws_input_name, TensorProto.FLOAT,
                                            ["batch", c.num_ws, c.w_dim]),
              helper.make_tensor_value_info(PSI, TensorProto.FLOAT, ["batch", 1])]
    outputs = [helper.make_tensor_value_info(TRUNCATED, TensorProto.FLOAT,
                                             ["batch", c.num_ws, c.w_dim])]
    inits = [numpy_helper.from_array(w_avg, "w_avg"),
             numpy_helper.from_array(np.array([-1, 1, 1], np.int64), "psi_shape")]
    graph = helper.make_graph(nodes, "truncation", inputs, outputs, inits)
    opset = next((o.version for o in source.opset_import if o.domain in ("", "ai.onnx")), 17)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              ir_version=source.ir_version, producer_name="ganedge")
    onnx.checker.check_model(model)
    return model
