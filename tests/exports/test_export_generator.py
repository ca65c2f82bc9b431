"""export_generator on user modules shaped like the trainer's architectures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from exports import export_generator
from exports.parity import example_inputs
from ganedge.contract import ModelContract
from ganedge.errors import ConfigError

Z = 8


class UpsampleConv(nn.Module):
    """(B, Z) → (B, 1, 16, 16) through Linear, nearest upsample and spectral-normed convs."""

    def __init__(self, sn: bool = False) -> None:
        super().__init__()
        wrap = spectral_norm if sn else (lambda m: m)
        self.fc = wrap(nn.Linear(Z, 8 * 4 * 4))
        self.up = nn.Sequential(nn.Upsample(scale_factor=2), wrap(nn.Conv2d(8, 8, 3, 1, 1)),
                                nn.ReLU(), nn.Upsample(scale_factor=2),
                                wrap(nn.Conv2d(8, 1, 3, 1, 1)), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.up(self.fc(z).unflatten(1, (8, 4, 4)))


class Conditional(nn.Module):
    """forward(z, labels): label embedding added to z, then a ConvTranspose DCGAN stem."""

    def __init__(self, num_classes: int = 3) -> None:
        super().__init__()
        self.embed = nn.Embedding(num_classes, Z)
        self.net = nn.Sequential(nn.ConvTranspose2d(Z, 8, 4, 1, 0), nn.BatchNorm2d(8), nn.ReLU(),
                                 nn.ConvTranspose2d(8, 3, 4, 2, 1), nn.Tanh())

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.net((z * self.embed(labels))[:, :, None, None])


class Noisy(UpsampleConv):
    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return super().forward(z + torch.randn_like(z))


def _run(path: Path, feed: dict[str, np.ndarray]) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, feed)[0]


def test_user_module_exports_with_symbolic_batch(tmp_path: Path) -> None:
    torch.manual_seed(0)
    result = export_generator(UpsampleConv(), tmp_path / "g.onnx", latent_dim=Z)
    model = onnx.load(str(tmp_path / "g.onnx"))
    dims = [v.type.tensor_type.shape.dim[0].dim_param
            for v in [*model.graph.input, *model.graph.output]]
    assert dims == ["batch", "batch"]
    assert result.parity.ok and [b.batch for b in result.parity.batches] == [1, 3, 64]
    assert result.contract == ModelContract(latent_dim=Z, channels=1, height=16, width=16)
    z = np.zeros((5, Z), np.float32)
    assert _run(tmp_path / "g.onnx", {"z": z}).shape == (5, 1, 16, 16)


def test_spectral_norm_is_folded_exactly(tmp_path: Path) -> None:
    torch.manual_seed(0)
    module = UpsampleConv(sn=True)
    module.train()
    for _ in range(3):  # power iterations settle u, v as training would
        module(torch.randn(4, Z))
    module.eval()
    result = export_generator(module, tmp_path / "sn.onnx", latent_dim=Z)
    assert result.parity.ok and result.parity.max_err < 1e-5
    model = onnx.load(str(tmp_path / "sn.onnx"))
    # folded: no power iteration (ReduceL2/Div on weights) left, only the plain initializers
    assert not {"ReduceL2", "LpNormalization"} & {n.op_type for n in model.graph.node}
    assert torch.nn.utils.parametrize.is_parametrized(module.fc), "caller's module was changed"


def test_conditional_module_takes_labels(tmp_path: Path) -> None:
    torch.manual_seed(0)
    module = Conditional(num_classes=3).eval()
    result = export_generator(module, tmp_path / "c.onnx", latent_dim=Z, num_classes=3)
    assert result.parity.ok and result.contract.num_classes == 3
    z, labels = example_inputs(4, Z, 3)
    got = _run(tmp_path / "c.onnx", {"z": z.numpy(), "label": labels.numpy()})
    with torch.no_grad():
        np.testing.assert_allclose(got, module(z, labels).numpy(), atol=1e-5)
    other = _run(tmp_path / "c.onnx", {"z": z.numpy(), "label": ((labels + 1) % 3).numpy()})
    assert not np.allclose(got, other), "labels are ignored by the graph"


def test_random_ops_in_forward_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="draws random numbers.*RandomNormalLike"):
        export_generator(Noisy(), tmp_path / "n.onnx", latent_dim=Z, allow_mismatch=True)
    assert not list(tmp_path.iterdir())


class Sigmoid(UpsampleConv):
    """The same generator with a sigmoid head: output in [0, 1]."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(super().forward(z) * 4.0)


@pytest.mark.parametrize("output", ["float", "uint8"])
def test_a_sigmoid_generator_records_its_range_and_samples_full_contrast(
        tmp_path: Path, output: str) -> None:
    import ganedge

    torch.manual_seed(0)
    module = Sigmoid()
    result = export_generator(module, tmp_path / "g.onnx", latent_dim=Z, output=output)
    assert result.contract.output_range == "0,1" and result.parity.ok
    gen = ganedge.load(tmp_path / "g.onnx")
    with torch.no_grad():
        expected = module(*example_inputs(4, Z, 0)).numpy()
    pixels = np.clip(np.rint(expected * 255.0), 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)
    assert np.abs(gen.sample(4).astype(int) - pixels).max() <= 1
    assert pixels.min() < 64  # read as [-1, 1] it could never go below 127
    tanh = export_generator(UpsampleConv(), tmp_path / "t.onnx", latent_dim=Z)
    assert tanh.contract.output_range == "-1,1"
