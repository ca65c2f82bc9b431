"""The ConvTranspose rewrites and ORT's offline optimization compute what the traced graph
computes."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from torch import nn

from exports import export_generator
from exports.convtranspose import rewrite_convtransposes
from exports.optimize import optimize
from exports.parity import example_inputs

Z = 16


class Deconv(nn.Module):
    """DCGAN-shaped: a 1×1 → 4×4 stem, two stride-2 ConvTranspose layers, BatchNorm and ReLU."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.ConvTranspose2d(Z, 12, 4, 1, 0, bias=False), nn.BatchNorm2d(12), nn.ReLU(),
            nn.ConvTranspose2d(12, 6, 4, 2, 1, bias=False), nn.BatchNorm2d(6), nn.ReLU(),
            nn.ConvTranspose2d(6, 3, 4, 2, 1), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z[:, :, None, None])


def _randomized(module: nn.Module) -> nn.Module:
    """Non-trivial BatchNorm statistics, so folding them is really tested."""
    torch.manual_seed(0)
    for bn in (m for m in module.modules() if isinstance(m, nn.BatchNorm2d)):
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        nn.init.uniform_(bn.weight, 0.5, 1.5)
        nn.init.uniform_(bn.bias, -0.2, 0.2)
    return module.eval()


def _traced(tmp_path: Path) -> onnx.ModelProto:
    path = tmp_path / "traced.onnx"
    export_generator(_randomized(Deconv()), path, latent_dim=Z, optimize=False)
    return onnx.load(str(path))


def _run(model: onnx.ModelProto, batch: int) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (z,) = example_inputs(batch, Z, 0)
    return session.run(None, {"z": z.numpy()})[0]


def test_convtranspose_rewrites_are_exact_in_fp32(tmp_path: Path) -> None:
    traced = _traced(tmp_path)
    rewritten = onnx.ModelProto()
    rewritten.CopyFrom(traced)
    counts = rewrite_convtransposes(rewritten)
    assert (counts.phase_convs, counts.stem_matmuls) == (2, 1)
    ops = Counter(n.op_type for n in rewritten.graph.node)
    # every ConvTranspose and BatchNorm is gone: BN folded into the new weights; the 6-channel
    # layer became four phase Convs, the 3-channel image layer one fused Conv and four Slices
    assert ops["ConvTranspose"] == ops["BatchNormalization"] == 0
    assert (ops["Conv"], ops["Slice"], ops["DepthToSpace"], ops["MatMul"]) == (5, 4, 2, 1)
    for batch in (1, 5):
        expected, got = _run(traced, batch), _run(rewritten, batch)
        assert got.shape == expected.shape == (batch, 3, 16, 16)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


def test_optimize_keeps_the_batch_axis_symbolic_and_drops_ort_domains(tmp_path: Path) -> None:
    optimized, report = optimize(_traced(tmp_path))
    assert report.phase_convs == 2 and report.nodes_after == sum(report.ops_after.values())
    for value in [*optimized.graph.input, *optimized.graph.output]:
        assert value.type.tensor_type.shape.dim[0].dim_param == "batch"
    assert [o.domain for o in optimized.opset_import] == [""]
    np.testing.assert_allclose(_run(optimized, 64), _run(_traced(tmp_path), 64), atol=1e-6)


def test_ort_offline_folds_batchnorm_into_conv(tmp_path: Path) -> None:
    class ConvBN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Sequential(nn.Upsample(scale_factor=4), nn.Conv2d(Z, 4, 3, 1, 1),
                                     nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 1, 3, 1, 1),
                                     nn.Tanh())

        def forward(self, z: torch.Tensor) -> torch.Tensor:
            return self.net(z[:, :, None, None])

    result = export_generator(_randomized(ConvBN()), tmp_path / "m.onnx", latent_dim=Z)
    assert result.parity.ok
    optimized, report = optimize(onnx.load(str(tmp_path / "m.onnx")))
    assert "BatchNormalization" not in report.ops_after and report.ops_after["Conv"] == 2


def test_fp32_ships_the_plain_trace_unless_asked(tmp_path: Path) -> None:
    """fp32's default is the plain trace (faster on the CPUs measured); int8 gets the rewrites
    its Conv kernels need; the rule depends on the options only, never on the machine."""
    plain = export_generator(_randomized(Deconv()), tmp_path / "fp32.onnx", latent_dim=Z)
    assert "optimize" not in [s.name for s in plain.steps] and "optimize" not in plain.provenance
    ops = {n.op_type for n in onnx.load(str(tmp_path / "fp32.onnx")).graph.node}
    assert "ConvTranspose" in ops and "DepthToSpace" not in ops
    int8 = export_generator(_randomized(Deconv()), tmp_path / "int8.onnx", latent_dim=Z,
                            precision="int8")
    assert int8.provenance["optimize"]["phase_convs"] == 2


def test_export_reports_the_optimize_step_and_records_it(tmp_path: Path) -> None:
    result = export_generator(_randomized(Deconv()), tmp_path / "m.onnx", latent_dim=Z,
                              optimize=True)
    names = [s.name for s in result.steps]
    assert names == ["prepare", "trace", "parity", "optimize", "write"]
    facts = result.provenance["optimize"]
    assert facts["phase_convs"] == 2 and facts["parity_ok"] is True
    assert facts["kept"] is True  # a rule: parity holds, so the rewrites stay, on any machine
    assert result.parity.ok and "✓ parity" in result.report()
    assert "exported_at" not in result.provenance and "speedup" not in facts


@pytest.mark.slow
def test_two_exports_of_one_checkpoint_are_byte_identical(trained_run: Path,
                                                           tmp_path: Path) -> None:
    from exports.checkpoint import export_checkpoint

    first = export_checkpoint(trained_run / "ckpt.pt", tmp_path / "a.onnx").path.read_bytes()
    second = export_checkpoint(trained_run / "ckpt.pt", tmp_path / "b.onnx").path.read_bytes()
    assert first == second


def test_the_image_layer_is_one_fused_conv_and_stays_fp32_in_int8(tmp_path: Path) -> None:
    int8 = export_generator(_randomized(Deconv()), tmp_path / "int8.onnx", latent_dim=Z,
                            precision="int8")
    assert int8.parity.ok
    model = onnx.load(str(tmp_path / "int8.onnx"))
    inits = {t.name: t for t in model.graph.initializer}
    producers = {o: n for n in model.graph.node for o in n.output}
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    quantized = {n.name: producers.get(n.input[1]) is not None
                 and producers[n.input[1]].op_type == "DequantizeLinear" for n in convs}
    image = [n for n in convs if n.input[1] in inits]  # a plain fp32 weight: not quantized
    assert len(image) == 1 and list(inits[image[0].input[1]].dims) == [4 * 3, 6, 2, 2]
    assert sum(quantized.values()) == len(convs) - 1  # every other Conv runs in int8
