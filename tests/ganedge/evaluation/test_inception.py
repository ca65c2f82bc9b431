"""The Inception FID path, run on a tiny stand-in ONNX feature graph built with onnx.helper."""

from pathlib import Path

import numpy as np
import pytest

from ganedge.errors import InputError
from ganedge.evaluation import EvalConfig, Evaluator
from ganedge.evaluation.inception import OnnxFeatures

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

WEIGHTS = np.array([[1.0, 0.0, 2.0, -1.0], [0.0, 1.0, 0.0, 3.0], [0.5, 0.5, 0.0, 1.0]], np.float32)


def _stand_in(path: Path, side: int | str, pool_only: bool = False) -> Path:
    """(B, 3, side, side) → channel means (B, 3, 1, 1), or their projection (B, 4)."""
    nodes = [helper.make_node("GlobalAveragePool", ["images"], ["pooled"])]
    if pool_only:
        out = helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["B", 3, 1, 1])
    else:
        nodes += [helper.make_node("Flatten", ["pooled"], ["flat"]),
                  helper.make_node("MatMul", ["flat", "w"], ["pool3"])]
        out = helper.make_tensor_value_info("pool3", TensorProto.FLOAT, ["B", 4])
    graph = helper.make_graph(
        nodes, "stand_in",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["B", 3, side, side])], [out],
        initializer=[] if pool_only else [numpy_helper.from_array(WEIGHTS, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def test_features_are_pooled_projections_of_rgb_in_range(tmp_path: Path) -> None:
    net = OnnxFeatures(_stand_in(tmp_path / "inc.onnx", 16), input_range="-1,1", provider="cpu")
    images = np.random.default_rng(0).integers(0, 256, (5, 16, 16, 1), dtype=np.uint8)
    x = images.astype(np.float32) / 255 * 2 - 1
    expected = np.repeat(x.mean(axis=(1, 2)), 3, axis=1) @ WEIGHTS
    np.testing.assert_allclose(net(images), expected, rtol=1e-5, atol=1e-5)
    assert net.preprocess(images).shape == (5, 3, 16, 16)


def test_dynamic_side_resizes_to_299_and_4d_output_is_flattened(tmp_path: Path) -> None:
    net = OnnxFeatures(_stand_in(tmp_path / "inc.onnx", "S", pool_only=True), "0,255", "cpu")
    images = np.full((2, 32, 32, 3), 51, np.uint8)
    assert net.size == 299 and net.preprocess(images).shape == (2, 3, 299, 299)
    np.testing.assert_allclose(net(images), np.full((2, 3), 51.0), rtol=1e-5)


def test_inception_figures_join_the_table_beside_their_floor(tmp_path: Path) -> None:
    config = EvalConfig(inception=_stand_in(tmp_path / "inc.onnx", 16), epochs=1, kid_subsets=3,
                        real_per_split=300)
    evaluator = Evaluator("digits", 32, 1, config, provider="cpu")
    result = evaluator.evaluate(evaluator.real_ref)
    assert result["FD (inception)"].value == pytest.approx(0.0, abs=1e-6)
    assert result["FD (inception)"].floor > 0 and result["FD (inception)"].better == "lower"
    assert result.protocol["inception"]["size"] == 16
    assert result.protocol["inception"]["input_range"] == "0,1"


def test_missing_weights_are_an_error_not_a_download(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^inception: .* does not exist: give a local Inception"):
        OnnxFeatures(tmp_path / "pt_inception.onnx")
    with pytest.raises(InputError, match=r"^inception_range: must be one of"):
        OnnxFeatures(_stand_in(tmp_path / "inc.onnx", 16), input_range="0,2")
