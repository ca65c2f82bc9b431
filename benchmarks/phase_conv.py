"""Graph rewrite measured by the suite: stride-2 ConvTranspose → four phase Convs + DepthToSpace.

A ConvTranspose with k=4, s=2, p=1 computes each output phase (row parity a, column parity b) as a
2×2 convolution of the input: rows 2m+a take x[m-1+a] and x[m+a] with kernel rows T[a]. Four Convs
with asymmetric padding, concatenated and interleaved by DepthToSpace(2, DCR), give the same
numbers with the same FLOPs, but run on ONNX Runtime's blocked (NCHWc) convolution kernels instead
of per-image GEMM + col2im; a following BatchNormalization is folded into the weights and the
activation fused into each Conv.

A prototype: it belongs in exports/ (optimize step) once the exporter adopts it; here the suite
measures what it buys (`ganedge phase-conv` rows, parity checked like every other row).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

# ConvTranspose kernel index used by conv tap 0 and tap 1, for output phase 0 and phase 1
_TAPS = ((3, 1), (2, 0))
_ACTIVATIONS = {"Relu", "Tanh", "LeakyRelu", "Sigmoid"}


def phase_weights(w: np.ndarray, a: int, b: int) -> np.ndarray:
    """ConvTranspose weight (C_in, C_out, 4, 4) → phase (a, b) Conv weight (C_out, C_in, 2, 2)."""
    rows, cols = _TAPS[a], _TAPS[b]
    return np.ascontiguousarray(w[:, :, list(rows)][:, :, :, list(cols)].transpose(1, 0, 2, 3))


def rewrite(src: str | Path, dst: str | Path) -> int:
    """Write ``src`` to ``dst`` with every eligible ConvTranspose rewritten; returns how many."""
    model = onnx.load(str(src))
    graph = _Graph(model.graph)
    count = 0
    for node in list(model.graph.node):
        if node.op_type == "ConvTranspose" and graph.eligible(node):
            graph.rewrite(node)
            count += 1
    _prune(model.graph)
    onnx.checker.check_model(model)
    onnx.save(model, str(dst))
    return count


def _prune(graph: Any) -> None:
    """Drop nodes and initializers nothing reads any more (the folded BatchNorm's parameters)."""
    outputs = {o.name for o in graph.output}
    while True:
        used = {i for n in graph.node for i in n.input} | outputs
        dead = [n for n in graph.node if not any(o in used for o in n.output)]
        if not dead:
            break
        for node in dead:
            graph.node.remove(node)
    for init in [t for t in graph.initializer if t.name not in used]:
        graph.initializer.remove(init)


def _attrs(node: Any) -> dict[str, Any]:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


class _Graph:
    """An ONNX graph with its constant tensors resolved (through the exporter's Identity nodes)."""

    def __init__(self, graph: Any) -> None:
        self.graph = graph
        self.inits = {t.name: t for t in graph.initializer}
        self.alias = {n.output[0]: n.input[0] for n in graph.node
                      if n.op_type == "Identity" and n.input[0] in self.inits}

    def const(self, name: str) -> np.ndarray | None:
        name = self.alias.get(name, name)
        return numpy_helper.to_array(self.inits[name]) if name in self.inits else None

    def eligible(self, node: Any) -> bool:
        a, w = _attrs(node), self.const(node.input[1])
        return (w is not None and w.shape[2:] == (4, 4) and list(a.get("strides", [])) == [2, 2]
                and list(a.get("pads", [])) == [1, 1, 1, 1] and a.get("group", 1) == 1
                and "output_shape" not in a and not any(a.get("output_padding", [])))

    def sole_consumer(self, tensor: str, ops: set[str]) -> Any:
        users = [n for n in self.graph.node if tensor in n.input]
        is_output = any(o.name == tensor for o in self.graph.output)
        return users[0] if len(users) == 1 and users[0].op_type in ops and not is_output else None

    def rewrite(self, node: Any) -> None:
        w = self.const(node.input[1])
        bias = self.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        bias = np.zeros(w.shape[1], w.dtype) if bias is None else bias
        tail = node.output[0]
        bn = self.sole_consumer(tail, {"BatchNormalization"})
        if bn is not None and all(self.const(i) is not None for i in bn.input[1:5]):
            w, bias = self._fold_bn(w, bias, bn)
            self.graph.node.remove(bn)
            tail = bn.output[0]
        act = self.sole_consumer(tail, _ACTIVATIONS)
        if act is not None:
            self.graph.node.remove(act)
            tail = act.output[0]
        new = self._phase_nodes(node, w, bias, act, tail)
        index = list(self.graph.node).index(node)
        self.graph.node.remove(node)
        for offset, item in enumerate(new):
            self.graph.node.insert(index + offset, item)

    def _fold_bn(self, w: np.ndarray, bias: np.ndarray, bn: Any) -> tuple[np.ndarray, np.ndarray]:
        scale, shift, mean, var = (self.const(i) for i in bn.input[1:5])
        k = scale / np.sqrt(var + _attrs(bn).get("epsilon", 1e-5))  # (C_out,)
        return (w * k[None, :, None, None]).astype(w.dtype), ((bias - mean) * k + shift).astype(w.dtype)

    def _phase_nodes(self, node: Any, w: np.ndarray, bias: np.ndarray, act: Any, tail: str) -> list[Any]:
        name = node.name or tail
        nodes, outs = [], []
        for a in (0, 1):
            for b in (0, 1):
                out = f"{name}.phase{a}{b}"
                self.graph.initializer.extend([
                    numpy_helper.from_array(phase_weights(w, a, b), f"{out}.w"),
                    numpy_helper.from_array(bias, f"{out}.b")])
                # pads [top, left, bottom, right]: phase 0 looks one pixel back, phase 1 one ahead
                nodes.append(helper.make_node("Conv", [node.input[0], f"{out}.w", f"{out}.b"], [out],
                                              name=out, kernel_shape=[2, 2], pads=[1 - a, 1 - b, a, b]))
                if act is not None:
                    nodes.append(helper.make_node(act.op_type, [out], [f"{out}.act"], name=f"{out}.act",
                                                  **_attrs(act)))
                    out = f"{out}.act"
                outs.append(out)
        nodes.append(helper.make_node("Concat", outs, [f"{name}.phases"], name=f"{name}.phases", axis=1))
        # DCR: channel (a·2 + b)·C_out + c lands at pixel (2m + a, 2n + b) of channel c
        nodes.append(helper.make_node("DepthToSpace", [f"{name}.phases"], [tail], name=f"{name}.d2s",
                                      blocksize=2, mode="DCR"))
        return nodes
