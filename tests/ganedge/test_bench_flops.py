"""The FLOP counter against hand-computed graphs and the real DCGAN export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from ganedge.bench.graphstats import flops_per_image, graph_stats
from ganedge.errors import InputError


def _weight(name: str, *shape: int) -> onnx.TensorProto:
    return numpy_helper.from_array(np.zeros(shape, np.float32), name)


def _save(tmp_path: Path, nodes: list, inits: list, x_shape: list, y_shape: list) -> Path:
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)], initializer=inits)
    path = tmp_path / "g.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_gemm_conv_convtranspose_counted_exactly(tmp_path: Path) -> None:
    # x (B, 5) → Gemm (5→48) → (B, 3, 4, 4) → Conv 3→4 k3 p1 → ConvTranspose 4→2 k4 s2 p1
    # → (B, 2, 8, 8)
    nodes = [
        helper.make_node("Gemm", ["x", "w0"], ["h0"]),
        helper.make_node("Reshape", ["h0", "shape"], ["h1"]),
        helper.make_node("Conv", ["h1", "w1"], ["h2"], pads=[1, 1, 1, 1]),
        helper.make_node("ConvTranspose", ["h2", "w2"], ["y"], strides=[2, 2], pads=[1, 1, 1, 1]),
    ]
    inits = [_weight("w0", 5, 48),
             numpy_helper.from_array(np.array([-1, 3, 4, 4], np.int64), "shape"),
             _weight("w1", 4, 3, 3, 3), _weight("w2", 4, 2, 4, 4)]
    path = _save(tmp_path, nodes, inits, ["batch", 5], ["batch", 2, 8, 8])
    gemm = 2 * 48 * 5  # 2 · N · K
    conv = 2 * (4 * 4 * 4) * (3 * 3 * 3)  # 2 · |output| · C_in·kh·kw
    deconv = 2 * (4 * 4 * 4) * (2 * 4 * 4)  # 2 · |input| · C_out·kh·kw
    assert flops_per_image(path) == gemm + conv + deconv == 8032


def test_batched_matmul_and_grouped_conv(tmp_path: Path) -> None:
    # x (B, 4, 6, 6) → grouped Conv (groups 2, 4→6, k3) → (B, 6, 4, 4) → MatMul with (4, 5)
    # → (B, 6, 4, 5)
    nodes = [helper.make_node("Conv", ["x", "w1"], ["h"], group=2),
             helper.make_node("MatMul", ["h", "w2"], ["y"])]
    path = _save(tmp_path, nodes, [_weight("w1", 6, 2, 3, 3), _weight("w2", 4, 5)],
                 ["batch", 4, 6, 6], ["batch", 6, 4, 5])
    assert flops_per_image(path) == 2 * (6 * 4 * 4) * (2 * 3 * 3) + 2 * (6 * 4 * 5) * 4 == 4416


@pytest.mark.slow
def test_exported_dcgan_matches_its_architecture(exported_model: Path) -> None:
    # digits-dcgan preset (base_channels 16): z 64 → 64@4 → 32@8 → 16@16 → 1@32, k4 ConvTransposes
    layers = [(64 * 1, 64), (64 * 16, 32), (32 * 64, 16), (16 * 256, 1)]  # (C_in·H·W, C_out)
    expected = sum(2 * pixels_in * c_out * 16 for pixels_in, c_out in layers)
    stats = graph_stats(exported_model)
    assert stats.flops_per_image == expected == 2_359_296
    assert stats.precision == "fp32"


def test_unknown_shape_is_an_input_error(tmp_path: Path) -> None:
    nodes = [helper.make_node("MatMul", ["x", "x"], ["y"])]
    path = _save(tmp_path, nodes, [], ["batch", "n"], ["batch", "n"])
    with pytest.raises(InputError, match="unknown after shape inference"):
        flops_per_image(path)
