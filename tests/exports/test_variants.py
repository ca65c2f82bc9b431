"""Precision variants and the uint8 tail: each within its stated tolerance, measured and
recorded."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from exports import export_checkpoint
from exports.parity import LEVELS, example_inputs
from exports.quantize import FP16_TOLERANCE, INT8_TOLERANCE
from ganedge import load
from ganedge.errors import ConfigError
from ganedge.io.imaging import to_uint8_nhwc
from trainer.checkpoint import generator_from_checkpoint, load_checkpoint


def _torch_images(ckpt: Path, batch: int) -> np.ndarray:
    generator = generator_from_checkpoint(load_checkpoint(ckpt), weights="ema").eval()
    with torch.no_grad():
        return generator(*example_inputs(batch, 64, 0)).numpy()


@pytest.mark.slow
def test_uint8_tail_gives_the_runtime_pixels(trained_run: Path, tmp_path: Path) -> None:
    ckpt = trained_run / "ckpt.pt"
    result = export_checkpoint(ckpt, tmp_path / "u8.onnx", output="uint8")
    c = result.contract
    assert (c.output_dtype, c.output_layout) == ("uint8", "NHWC")
    assert result.parity.ok and result.parity.tolerance.unit == LEVELS
    assert result.parity.max_err <= 1
    graph_out = onnx.load(str(result.path)).graph.output[0]
    assert graph_out.type.tensor_type.elem_type == onnx.TensorProto.UINT8
    assert graph_out.type.tensor_type.shape.dim[0].dim_param == "batch"
    pixels = load(result.path, provider="cpu").sample(seeds=range(8))
    expected = to_uint8_nhwc(_torch_images(ckpt, 8))
    assert pixels.dtype == np.uint8 and pixels.shape == expected.shape == (8, 32, 32, 1)
    assert np.abs(pixels.astype(int) - expected.astype(int)).max() <= 1


@pytest.mark.slow
def test_int8_is_quantized_calibrated_and_within_tolerance(trained_run: Path,
                                                           tmp_path: Path) -> None:
    result = export_checkpoint(trained_run / "ckpt.pt", tmp_path / "int8.onnx", precision="int8")
    ops = Counter(n.op_type for n in onnx.load(str(result.path)).graph.node)
    # the ConvTranspose rewrites ran first, so every layer is a Conv/MatMul ORT runs in int8
    assert ops["ConvTranspose"] == 0 and ops["QuantizeLinear"] > 0 and ops["DequantizeLinear"] > 0
    assert result.parity.tolerance == INT8_TOLERANCE and result.parity.ok
    facts = result.provenance["int8"]
    assert facts["error_levels"]["mean"] <= INT8_TOLERANCE.mean
    step = next(s for s in result.steps if s.name == "int8")
    # speed is machine-dependent: export never measures it, it says how to (see ganedge bench)
    assert "speedup_vs_fp32" not in facts and "ganedge bench" in step.detail
    assert facts["weight_bits"] == 7 and _largest_weight_level(result.path) <= 64


@pytest.mark.slow
def test_int8_weight_bits_are_an_explicit_option(trained_run: Path, tmp_path: Path) -> None:
    result = export_checkpoint(trained_run / "ckpt.pt", tmp_path / "int8w8.onnx", precision="int8",
                               int8_weight_bits=8)
    assert result.parity.ok and result.provenance["int8"]["weight_bits"] == 8
    assert _largest_weight_level(result.path) > 64  # the full signed 8-bit range is used
    with pytest.raises(ConfigError,
                       match="int8_weight_bits: must be one of \\[7, 8\\] \\(got 6\\)"):
        export_checkpoint(trained_run / "ckpt.pt", tmp_path / "x.onnx", precision="int8",
                          int8_weight_bits=6)


def _largest_weight_level(path: Path) -> int:
    """max |q| over the int8 weight initializers of a quantized file."""
    inits = onnx.load(str(path)).graph.initializer
    return max(int(np.abs(onnx.numpy_helper.to_array(t).astype(np.int16)).max()) for t in inits
               if t.data_type == onnx.TensorProto.INT8 and t.name.endswith("_quantized"))


@pytest.mark.slow
def test_fp16_keeps_fp32_io_and_is_within_tolerance(trained_run: Path, tmp_path: Path) -> None:
    result = export_checkpoint(trained_run / "ckpt.pt", tmp_path / "fp16.onnx", precision="fp16")
    graph = onnx.load(str(result.path)).graph
    assert graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in graph.initializer)
    assert result.parity.tolerance == FP16_TOLERANCE and result.parity.ok
    assert result.provenance["precision"] == "fp16"


@pytest.mark.slow
def test_int8_with_uint8_output_and_default_names(trained_run: Path, tmp_path: Path) -> None:
    ckpt = tmp_path / "ckpt.pt"
    ckpt.write_bytes((trained_run / "ckpt.pt").read_bytes())
    result = export_checkpoint(ckpt, precision="int8", output="uint8")
    assert result.path == tmp_path / "model-int8-uint8-out.onnx"
    assert result.contract.output_dtype == "uint8" and result.parity.tolerance == INT8_TOLERANCE
    assert [s.name for s in result.steps][-3:] == ["int8", "uint8", "write"]


def test_int8_refuses_a_graph_with_nothing_to_quantize(tmp_path: Path) -> None:
    from exports.quantize import to_int8
    from ganedge.contract import ModelContract

    model = onnx.helper.make_model(onnx.helper.make_graph(
        [onnx.helper.make_node("Tanh", ["z"], ["images"])], "g",
        [onnx.helper.make_tensor_value_info("z", onnx.TensorProto.FLOAT, ["batch", 4])],
        [onnx.helper.make_tensor_value_info("images", onnx.TensorProto.FLOAT, ["batch", 4])]))
    with pytest.raises(ConfigError, match="no Conv/MatMul/Gemm to quantize"):
        to_int8(model, ModelContract(latent_dim=4, channels=1, height=2, width=2))


def test_a_converter_failure_is_one_config_error() -> None:
    from exports.quantize import reduce_precision
    from ganedge.contract import ModelContract

    broken = onnx.helper.make_model(onnx.helper.make_graph(
        [onnx.helper.make_node("Conv", ["z", "missing_weight"], ["images"])], "g",
        [onnx.helper.make_tensor_value_info("z", onnx.TensorProto.FLOAT, ["batch", 1, 2, 2])],
        [onnx.helper.make_tensor_value_info("images", onnx.TensorProto.FLOAT, ["batch", 1, 2, 2])]))
    with pytest.raises(ConfigError, match=r"^precision: int8: ONNX Runtime's converter failed"):
        reduce_precision(broken, ModelContract(latent_dim=4, channels=1, height=2, width=2), "int8")
