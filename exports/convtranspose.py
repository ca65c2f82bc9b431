"""ConvTranspose rewrites, exact in fp32: what makes a DCGAN generator fast, and int8-able, on CPU.

Phase convolutions: a ConvTranspose with k=4, s=2, p=1 computes each output phase (row parity a,
column parity b) as a 2×2 convolution of the input: rows 2m+a take x[m-1+a] and x[m+a] with kernel
rows T[a]. Four Convs with asymmetric padding, concatenated and interleaved by DepthToSpace(2,
DCR), give the same numbers with the same FLOPs, but run on ONNX Runtime's blocked (NCHWc)
convolution kernels instead of per-image GEMM + col2im.

Narrow layers (at most FUSED_MAX_CHANNELS outputs: the image layer, 1-4 channels) are fused into
one Conv instead: all four phases' 2×2 kernels as 4·C_out output channels over the input padded
by one pixel, then four Slices pick each phase's window. Four Convs with 3 output channels each
fill 3 of a vector's 16 lanes; the fused one fills 12, for 1.06-1.56× the FLOPs (the padded
border) and copies of a small tensor. DCGAN-64 at batch 64 on a 2-core AMD EPYC (AVX-512 VNNI):
the int8 export took 52 → 32 ms on OpenVINO and 77 → 68 ms on ONNX Runtime (the image layer stays
fp32 there, and was 40 % of OpenVINO's time). Wide layers stay four Convs: fused, their Slices
copy large tensors (124 vs 100 ms for the whole generator on ONNX Runtime).

Stem as MatMul: a ConvTranspose with no padding on a 1×1 input (the DCGAN stem that turns z into a
k×k map) is a matrix product of z with the weight laid out as (C_in, C_out·k·k), then a reshape.

Either way a following BatchNormalization is folded into the weights and the activation moved onto
the new ops. Conv and MatMul are also what ONNX Runtime runs in int8, which it cannot do for
ConvTranspose: without these rewrites an int8 generator is slower than fp32, not faster.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

# ConvTranspose kernel index used by conv tap 0 and tap 1, for output phase 0 and phase 1
_TAPS = ((3, 1), (2, 0))
FUSED_MAX_CHANNELS = 4  # phase layers this narrow run as one fused Conv (see the module doc)
_ACTIVATIONS = {"Relu", "Tanh", "LeakyRelu", "Sigmoid"}


@dataclass(frozen=True)
class RewriteCounts:
    """How many ConvTranspose layers each rewrite replaced."""

    phase_convs: int
    stem_matmuls: int


def phase_weights(w: np.ndarray, a: int, b: int) -> np.ndarray:
    """ConvTranspose weight (C_in, C_out, 4, 4) → phase (a, b) Conv weight (C_out, C_in, 2, 2)."""
    rows, cols = _TAPS[a], _TAPS[b]
    return np.ascontiguousarray(w[:, :, list(rows)][:, :, :, list(cols)].transpose(1, 0, 2, 3))


def rewrite_convtransposes(model: onnx.ModelProto) -> RewriteCounts:
    """Rewrite every eligible ConvTranspose of ``model`` in place."""
    graph = _Graph(model)
    phase = stem = 0
    for node in list(model.graph.node):
        if node.op_type != "ConvTranspose":
            continue
        if graph.phase_eligible(node):
            graph.replace(node, graph.phase_nodes)
            phase += 1
        elif graph.stem_eligible(node):
            graph.replace(node, graph.stem_nodes)
            stem += 1
    if phase or stem:
        _prune(model.graph)
        onnx.checker.check_model(model)
    return RewriteCounts(phase, stem)


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


def _activated(nodes: list[Any], tensor: str, act: Any, output: str | None = None) -> str:
    """Append the folded-away activation ``act`` (if any) applied to ``tensor`` to ``nodes``;
    the tensor that holds the result (``output``, by default ``tensor`` + ".act")."""
    if act is None:
        return tensor
    output = output or f"{tensor}.act"
    nodes.append(helper.make_node(act.op_type, [tensor], [output], name=output, **_attrs(act)))
    return output


def _interleaved(name: str, phases: list[str], tail: str) -> list[Any]:
    """The four phase tensors (order 00, 01, 10, 11) concatenated and interleaved into ``tail``."""
    # DCR: channel (a·2 + b)·C_out + c lands at pixel (2m + a, 2n + b) of channel c
    return [helper.make_node("Concat", phases, [f"{name}.phases"], name=f"{name}.phases", axis=1),
            helper.make_node("DepthToSpace", [f"{name}.phases"], [tail], name=f"{name}.d2s",
                             blocksize=2, mode="DCR")]


def _attrs(node: Any) -> dict[str, Any]:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _plain(attrs: dict[str, Any]) -> bool:
    """No groups, dilation, output padding or explicit output shape."""
    return (attrs.get("group", 1) == 1 and "output_shape" not in attrs
            and not any(attrs.get("output_padding", []))
            and set(attrs.get("dilations", [1])) == {1})


class _Graph:
    """An ONNX graph with its constant tensors resolved (through the exporter's Identity nodes)
    and the static shapes that shape inference can tell."""

    def __init__(self, model: onnx.ModelProto) -> None:
        self.graph = model.graph
        self.inits = {t.name: t for t in self.graph.initializer}
        self.alias = {n.output[0]: n.input[0] for n in self.graph.node
                      if n.op_type == "Identity" and n.input[0] in self.inits}
        inferred = onnx.shape_inference.infer_shapes(model, data_prop=True).graph
        self.shapes = {v.name: [d.dim_value if d.HasField("dim_value") else None
                                for d in v.type.tensor_type.shape.dim]
                       for v in [*inferred.value_info, *inferred.input]}

    def const(self, name: str) -> np.ndarray | None:
        name = self.alias.get(name, name)
        return numpy_helper.to_array(self.inits[name]) if name in self.inits else None

    def phase_eligible(self, node: Any) -> bool:
        a, w = _attrs(node), self.const(node.input[1])
        return (w is not None and w.shape[2:] == (4, 4) and list(a.get("strides", [])) == [2, 2]
                and list(a.get("pads", [])) == [1, 1, 1, 1] and _plain(a))

    def stem_eligible(self, node: Any) -> bool:
        a, w = _attrs(node), self.const(node.input[1])
        shape = self.shapes.get(node.input[0], [])
        return (w is not None and w.ndim == 4 and len(shape) == 4 and shape[2:] == [1, 1]
                and not any(a.get("pads", [])) and _plain(a))

    def sole_consumer(self, tensor: str, ops: set[str]) -> Any:
        users = [n for n in self.graph.node if tensor in n.input]
        is_output = any(o.name == tensor for o in self.graph.output)
        return users[0] if len(users) == 1 and users[0].op_type in ops and not is_output else None

    def replace(self, node: Any, build: Any) -> None:
        """Replace ``node`` (and the BatchNorm and activation it feeds) by ``build``'s nodes."""
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
        new = build(node, w, bias, act, tail)
        index = list(self.graph.node).index(node)
        self.graph.node.remove(node)
        for offset, item in enumerate(new):
            self.graph.node.insert(index + offset, item)

    def _fold_bn(self, w: np.ndarray, bias: np.ndarray, bn: Any) -> tuple[np.ndarray, np.ndarray]:
        scale, shift, mean, var = (self.const(i) for i in bn.input[1:5])
        k = scale / np.sqrt(var + _attrs(bn).get("epsilon", 1e-5))  # (C_out,)
        return ((w * k[None, :, None, None]).astype(w.dtype),
                ((bias - mean) * k + shift).astype(w.dtype))

    def _constant(self, array: np.ndarray, name: str) -> str:
        self.graph.initializer.append(numpy_helper.from_array(array, name))
        return name

    def phase_nodes(self, node: Any, w: np.ndarray, bias: np.ndarray, act: Any,
                    tail: str) -> list[Any]:
        if w.shape[1] <= FUSED_MAX_CHANNELS:
            return self.fused_phase_nodes(node, w, bias, act, tail)
        name = node.name or tail
        nodes, outs = [], []
        for a in (0, 1):
            for b in (0, 1):
                out = f"{name}.phase{a}{b}"
                weights = self._constant(phase_weights(w, a, b), f"{out}.w")
                # pads [top, left, bottom, right]: phase 0 looks one pixel back, phase 1 one ahead
                nodes.append(helper.make_node("Conv",
                                              [node.input[0], weights,
                                               self._constant(bias, f"{out}.b")],
                                              [out], name=out, kernel_shape=[2, 2],
                                              pads=[1 - a, 1 - b, a, b]))
                outs.append(_activated(nodes, out, act))
        return nodes + _interleaved(name, outs, tail)

    def fused_phase_nodes(self, node: Any, w: np.ndarray, bias: np.ndarray, act: Any,
                          tail: str) -> list[Any]:
        """One 2×2 Conv (pad 1) computing every phase as 4·C_out channels on an (H+1, W+1) grid;
        phase (a, b) is its channel block 2a + b at rows a..a+H-1 and columns b..b+W-1."""
        name = node.name or tail
        c_out = w.shape[1]
        out = f"{name}.fused"
        weights = np.concatenate([phase_weights(w, a, b) for a in (0, 1) for b in (0, 1)])
        nodes = [helper.make_node("Conv", [node.input[0], self._constant(weights, f"{out}.w"),
                                           self._constant(np.tile(bias, 4), f"{out}.b")],
                                  [out], name=out, kernel_shape=[2, 2], pads=[1, 1, 1, 1])]
        out = _activated(nodes, out, act)
        axes = self._constant(np.array([1, 2, 3], np.int64), f"{name}.slice_axes")
        last = np.iinfo(np.int64).max
        outs = []
        for a in (0, 1):
            for b in (0, 1):
                k, phase = 2 * a + b, f"{name}.phase{a}{b}"
                # phase 0 drops the grid's last row/column, phase 1 its first
                starts = self._constant(np.array([k * c_out, a, b], np.int64), f"{phase}.starts")
                ends = self._constant(np.array([(k + 1) * c_out, last if a else -1,
                                                last if b else -1], np.int64), f"{phase}.ends")
                nodes.append(helper.make_node("Slice", [out, starts, ends, axes], [phase],
                                              name=phase))
                outs.append(phase)
        return nodes + _interleaved(name, outs, tail)

    def stem_nodes(self, node: Any, w: np.ndarray, bias: np.ndarray, act: Any,
                   tail: str) -> list[Any]:
        name = node.name or tail
        c_in, c_out, kh, kw = w.shape
        matrix = self._constant(np.ascontiguousarray(w.reshape(c_in, c_out * kh * kw)), f"{name}.w")
        # the bias of channel c covers all k×k positions of that channel's map
        row = self._constant(np.repeat(bias, kh * kw).astype(w.dtype), f"{name}.b")
        shape = self._constant(np.array([-1, c_out, kh, kw], np.int64), f"{name}.shape")
        flat = f"{name}.flat"
        nodes = [helper.make_node("Flatten", [node.input[0]], [flat], name=flat, axis=1),
                 helper.make_node("MatMul", [flat, matrix], [f"{name}.mm"], name=f"{name}.mm"),
                 helper.make_node("Add", [f"{name}.mm", row], [f"{name}.lin"], name=f"{name}.lin")]
        last = _activated(nodes, f"{name}.lin", act, f"{name}.act")
        nodes.append(helper.make_node("Reshape", [last, shape], [tail], name=f"{name}.reshape"))
        return nodes
